//! The `ray` backend: each execution runs as one Ray job, submitted through the Jobs REST
//! API of the cluster's dashboard (`RAY_ADDRESS`). The job's entrypoint runs
//! `notebook-executor run` on the notebook staged beside the output (in Cloud Storage, or
//! in a folder that the cluster and this machine share); its `submission_id` is the
//! execution's id, which is also how a retry after a crash finds it. Machine types are
//! resource shapes that the admin configures (name -> CPUs, GPUs, memory, custom
//! resources), reserved for the entrypoint. See `remote` for how the record follows the job.

mod api;
mod shapes;

pub use shapes::Shape;

use super::logs::{LogSource, Logs};
use super::remote::{self, JobApi, Phase, Reachability};
use super::{check_offered, Backend, BoxFuture, Capabilities};
use crate::error::{Error, Failure, Result};
use crate::model::{staged_input_uri_of, Execution, ExecutionSpec, State};
use crate::storage;
use crate::store::Store;
use api::{Client, JobInfo, SubmitRequest};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub const NAME: &str = "ray";

/// Metadata keys of a job: the execution it runs (and its name, and its schedule).
pub const EXECUTION_METADATA: &str = "notebook-executor-execution";
pub const NAME_METADATA: &str = "notebook-executor-name";
pub const SCHEDULE_METADATA: &str = "notebook-executor-schedule";

/// Beyond this many followed jobs, one listing of the cluster's jobs is cheaper than a
/// lookup of each.
const LOOKUPS_BEFORE_LISTING: usize = 3;
/// How often a `wait` asks the head about its execution (a local head answers in a few ms).
const WAIT_REFRESH_EVERY: Duration = Duration::from_millis(100);

/// The backend's settings (the server's `c.NotebookExecutor.ray_*`; for the CLI and the
/// Python API, `RAY_ADDRESS` and the `NOTEBOOK_EXECUTOR_RAY_*` variables fill what is not
/// given).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RayConfig {
    /// The dashboard's address, where the Jobs API is: `http://127.0.0.1:8265`.
    pub address: String,
    /// Resource shapes by name, in the order offered (the first is the default).
    #[serde(deserialize_with = "shapes::ordered")]
    pub machine_types: Vec<(String, Shape)>,
    /// Where results go when a submission names none: a `gs://` prefix, or a folder that
    /// the cluster's nodes mount at the same path (default: the service's).
    pub output_location: String,
    /// The program the entrypoint runs: `notebook-executor` on the nodes' PATH, or an
    /// absolute path.
    pub executable: String,
    /// Ray's `runtime_env` of every job (`env_vars`, `pip`, `working_dir`...), as Ray takes it.
    pub runtime_env: Map<String, Value>,
    /// A running execution whose head cannot be reached for this long ends FAILED.
    pub unreachable_timeout_seconds: f64,
}

impl RayConfig {
    /// Fills what is not set from the environment and the defaults; says what is wrong
    /// with it (reported when the backend is used, not when the service starts).
    pub fn resolved(mut self) -> (RayConfig, Option<String>) {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        if self.address.is_empty() {
            self.address = env("RAY_ADDRESS").unwrap_or_default();
        }
        if self.machine_types.is_empty() {
            if let Some(text) = env("NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES") {
                match shapes::parse_json(&text) {
                    Ok(shapes) => self.machine_types = shapes,
                    Err(e) => problems.push(format!("NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES: {e}")),
                }
            }
        }
        if self.runtime_env.is_empty() {
            if let Some(text) = env("NOTEBOOK_EXECUTOR_RAY_RUNTIME_ENV") {
                match serde_json::from_str(&text) {
                    Ok(map) => self.runtime_env = map,
                    Err(e) => problems.push(format!(
                        "NOTEBOOK_EXECUTOR_RAY_RUNTIME_ENV: not a JSON object: {e}"
                    )),
                }
            }
        }
        for (field, var) in [
            (
                &mut self.output_location,
                "NOTEBOOK_EXECUTOR_RAY_OUTPUT_LOCATION",
            ),
            (&mut self.executable, "NOTEBOOK_EXECUTOR_RAY_EXECUTABLE"),
        ] {
            if field.is_empty() {
                *field = env(var).unwrap_or_default();
            }
        }
        if self.executable.is_empty() {
            self.executable = "notebook-executor".into();
        }
        if self.unreachable_timeout_seconds <= 0.0 {
            self.unreachable_timeout_seconds = env("NOTEBOOK_EXECUTOR_RAY_UNREACHABLE_TIMEOUT")
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|t| *t > 0.0 && t.is_finite())
                .unwrap_or(60.0);
        }
        for (name, shape) in &self.machine_types {
            if let Err(e) = shape.check() {
                problems.push(format!("machine type {name:?}: {e}"));
            }
        }
        if let Some(vars) = self.runtime_env.get("env_vars") {
            let strings = vars
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !strings {
                problems.push("runtime_env.env_vars: give an object of strings".to_owned());
            }
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        (self, problem)
    }
}

/// `RAY_ADDRESS` as the Jobs API's base URL (a bare `host:port` is `http://host:port`).
fn api_base(address: &str) -> std::result::Result<String, String> {
    let address = address.trim().trim_end_matches('/');
    if address.is_empty() {
        return Err(
            "no Ray cluster is configured: set RAY_ADDRESS to its dashboard's address \
                    (e.g. http://127.0.0.1:8265), or c.NotebookExecutor.ray_address"
                .to_owned(),
        );
    }
    let base = if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    };
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!(
            "RAY_ADDRESS {address:?} is not the dashboard's http(s):// address (e.g. \
             http://127.0.0.1:8265), where Ray's Jobs API is"
        ));
    }
    Ok(base)
}

/// The token Ray's own clients send: `RAY_AUTH_TOKEN`, else the file `RAY_AUTH_TOKEN_PATH`
/// names, else `~/.ray/auth_token`.
fn auth_token() -> Option<String> {
    if let Some(token) = std::env::var("RAY_AUTH_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Some(token.trim().to_owned());
    }
    let path = match std::env::var_os("RAY_AUTH_TOKEN_PATH").filter(|p| !p.is_empty()) {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?)
            .join(".ray")
            .join("auth_token"),
    };
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Headers Ray's job clients add to every call (`RAY_JOB_HEADERS`, a JSON object): a
/// hosted cluster's proxy may need them.
fn extra_headers() -> std::result::Result<BTreeMap<String, String>, String> {
    match std::env::var("RAY_JOB_HEADERS") {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text)
            .map_err(|e| format!("RAY_JOB_HEADERS: not a JSON object of strings: {e}")),
        _ => Ok(BTreeMap::new()),
    }
}

pub struct RayBackend {
    config: RayConfig,
    /// What is wrong with the configuration (the backend refuses work while it is).
    problem: Option<String>,
    reach: Reachability,
}

impl RayBackend {
    pub fn new(config: RayConfig) -> RayBackend {
        let (config, problem) = config.resolved();
        let limit = Duration::from_secs_f64(config.unreachable_timeout_seconds);
        RayBackend {
            config,
            problem,
            reach: Reachability::new(limit),
        }
    }

    fn unusable(message: String) -> Error {
        Error::resource("the Ray backend", Failure::Unavailable, message)
    }

    fn client(&self) -> Result<Client> {
        if let Some(problem) = &self.problem {
            return Err(RayBackend::unusable(format!(
                "its configuration is wrong: {problem}"
            )));
        }
        Ok(Client {
            address: api_base(&self.config.address).map_err(RayBackend::unusable)?,
            token: auth_token(),
            headers: extra_headers().map_err(RayBackend::unusable)?,
            attempts: if self.reach.is_failing() {
                1
            } else {
                api::ATTEMPTS
            },
        })
    }

    fn shape(&self, name: &str) -> Option<&Shape> {
        self.config
            .machine_types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// The job of an execution: its entrypoint, environment, reserved resources, metadata.
    fn request_of(&self, execution: &Execution, command: &[String]) -> SubmitRequest {
        let spec = &execution.spec;
        let mut metadata: BTreeMap<String, String> = spec
            .labels
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        metadata.insert(EXECUTION_METADATA.to_owned(), execution.id.clone());
        metadata.insert(NAME_METADATA.to_owned(), spec.display_name.clone());
        if let Some(schedule) = &spec.schedule_id {
            metadata.insert(SCHEDULE_METADATA.to_owned(), schedule.clone());
        }
        let mut runtime_env = self.config.runtime_env.clone();
        if let Ok(every) = std::env::var("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL") {
            let vars = runtime_env
                .entry("env_vars")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(vars) = vars.as_object_mut() {
                vars.entry("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL")
                    .or_insert(Value::String(every));
            }
        }
        let shape = self.shape(&spec.machine_type).cloned().unwrap_or_default();
        SubmitRequest {
            entrypoint: self.entrypoint(command),
            submission_id: execution.id.clone(),
            runtime_env,
            metadata,
            entrypoint_num_cpus: shape.num_cpus,
            entrypoint_num_gpus: shape.num_gpus,
            entrypoint_memory: shape.memory,
            entrypoint_resources: shape.resources,
        }
    }

    /// The run's command as one shell line (Ray runs the entrypoint with a shell), with
    /// the configured program in place of `notebook-executor`.
    fn entrypoint(&self, command: &[String]) -> String {
        let args = command.get(1..).unwrap_or_default();
        std::iter::once(&self.config.executable)
            .chain(args)
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A word the shell reads back as it is.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Ends a cancelled execution whose job Ray still holds PENDING. Ray cannot stop a job
/// it has not placed (the stop waits for the job's supervisor, which waits for resources
/// that may never come, until `RAY_JOB_START_TIMEOUT_SECONDS`, 15 minutes by default): the
/// staged notebook is removed instead, so that if the job ever starts, its run fails at
/// once without running anything.
async fn disarm(execution: &Execution) -> Result<()> {
    let staged = storage::parse_field(
        "output_location",
        &staged_input_uri_of(&execution.output_notebook_uri),
    )?;
    storage::delete(&staged).await.map(drop)
}

/// A job's phase, in our words.
fn phase_of(job: &JobInfo) -> Phase {
    match job.status.as_str() {
        "RUNNING" => Phase::Running,
        "SUCCEEDED" => Phase::Succeeded,
        "FAILED" => Phase::Failed(failure_message(job.message.as_deref().unwrap_or(""))),
        "STOPPED" => Phase::Cancelled,
        _ => Phase::Preparing, // PENDING: the entrypoint waits for its resources or environment
    }
}

/// Ray's message of a failed job, short: its first line and the last lines of the logs
/// it quotes ("Job entrypoint command failed with exit code 127, last available logs
/// ...: /bin/sh: 1: notebook-executor: not found").
fn failure_message(message: &str) -> String {
    let lines: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    let text = match lines.as_slice() {
        [] => "the Ray job failed".to_owned(),
        [one] => (*one).to_owned(),
        [first, rest @ ..] => {
            let tail = &rest[rest.len().saturating_sub(5)..];
            format!("{first}\n{}", tail.join("\n"))
        }
    };
    text.chars().take(2000).collect()
}

impl JobApi for RayBackend {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    /// Looks the job up first: Ray answers a second submission of one id with an HTTP 500.
    fn create_job<'a>(
        &'a self,
        execution: &'a Execution,
        command: &'a [String],
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let client = self.client()?;
            if client.get(&execution.id).await?.is_none() {
                match client.submit(&self.request_of(execution, command)).await {
                    // Submitted meanwhile by another dispatcher: the same job.
                    Ok(())
                    | Err(Error::Resource {
                        failure: Failure::AlreadyExists,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(execution.id.clone())
        })
    }

    fn job_phases<'a>(
        &'a self,
        executions: &'a [Execution],
    ) -> BoxFuture<'a, Result<HashMap<String, Phase>>> {
        Box::pin(async move {
            let client = self.client()?;
            let mut jobs = HashMap::new();
            if executions.len() <= LOOKUPS_BEFORE_LISTING {
                for e in executions {
                    if let Some(job) = client.get(&e.backend_job_id).await? {
                        jobs.insert(e.backend_job_id.clone(), job);
                    }
                }
            } else {
                for job in client.list().await? {
                    if let Some(id) = job.submission_id.clone() {
                        jobs.insert(id, job);
                    }
                }
            }
            let mut phases = HashMap::new();
            for e in executions {
                let Some(job) = jobs.get(&e.backend_job_id) else {
                    continue;
                };
                let mut phase = phase_of(job);
                if phase == Phase::Preparing && e.state == State::Cancelling {
                    disarm(e).await?;
                    phase = Phase::Cancelled;
                }
                phases.insert(e.backend_job_id.clone(), phase);
            }
            Ok(phases)
        })
    }

    fn cancel_job<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match self.client()?.stop(&execution.backend_job_id).await {
                // Gone already: the next follow ends the record.
                Err(Error::Resource {
                    failure: Failure::NotFound,
                    ..
                }) => Ok(()),
                other => other,
            }
        })
    }

    fn reachability(&self) -> Option<&Reachability> {
        Some(&self.reach)
    }
}

impl Backend for RayBackend {
    fn capabilities(&self) -> Capabilities {
        let c = &self.config;
        Capabilities {
            name: NAME,
            machine_types: c.machine_types.iter().map(|(n, _)| n.clone()).collect(),
            machine_type_descriptions: c
                .machine_types
                .iter()
                .map(|(n, s)| (n.clone(), s.describe()))
                .collect(),
            accelerator_types: vec![],
            regions: vec![],
            output_schemes: vec!["", "gs"],
            default_output_location: Some(c.output_location.clone()).filter(|o| !o.is_empty()),
            container_images: vec![],
            default_region: None,
            remote: true,
        }
    }

    /// A cluster's address is set (it may still be unreachable: submissions say so).
    fn configured(&self) -> bool {
        !self.config.address.trim().is_empty()
    }

    /// The others are refused (see `validate`).
    fn fields(&self) -> &'static [&'static str] {
        &["machine_type"]
    }

    /// The machine type is one of the shapes (the first by default); the fields of the
    /// cloud backends are refused, each error naming its field.
    fn validate(&self, spec: &mut ExecutionSpec) -> Result<()> {
        if let Some(problem) = &self.problem {
            return Err(RayBackend::unusable(format!(
                "its configuration is wrong: {problem}"
            )));
        }
        let refused = [
            ("accelerator_type", !spec.accelerator_type.is_empty(), "GPUs come with the machine types (resource shapes) the admin configures"),
            ("accelerator_count", spec.accelerator_count != 0, "GPUs come with the machine types (resource shapes) the admin configures"),
            ("region", !spec.region.is_empty(), "a Ray cluster has no regions"),
            ("environment", !spec.environment.is_empty(), "jobs run in the cluster's Python environment (add packages with the runtime_env setting)"),
            ("service_account", !spec.service_account.is_empty(), "jobs run as the cluster's own user"),
            ("network", !spec.network.is_empty(), "jobs run in the cluster's own network"),
        ];
        if let Some((field, _, why)) = refused.iter().find(|(_, given, _)| *given) {
            return Err(Error::invalid(
                field,
                format!("the Ray backend takes no {field}: {why}"),
            ));
        }
        if spec.machine_type.is_empty() {
            if let Some((first, _)) = self.config.machine_types.first() {
                spec.machine_type = first.clone();
            }
        }
        let offered = self.capabilities();
        if !spec.machine_type.is_empty() && offered.machine_types.is_empty() {
            return Err(Error::invalid(
                "machine_type",
                "the Ray backend has no machine types configured (resource shapes: \
                 c.NotebookExecutor.ray_machine_types or NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES)",
            ));
        }
        check_offered(
            "machine_type",
            &spec.machine_type,
            &offered.machine_types,
            NAME,
        )
    }

    /// The head answers (and takes our token) before anything is written.
    fn check_available(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut client = self.client()?;
            client.attempts = 1;
            match client.version().await {
                Ok(()) => {
                    self.reach.reached();
                    Ok(())
                }
                Err(Error::Resource {
                    resource,
                    failure: Failure::Unavailable,
                    message,
                }) => Err(Error::Resource {
                    resource,
                    failure: Failure::Unavailable,
                    message: format!(
                        "{message} (is the cluster up? RAY_ADDRESS must be its dashboard's \
                         address, where the Jobs API is)"
                    ),
                }),
                Err(e) => Err(e),
            }
        })
    }

    fn dispatch<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<()>> {
        Box::pin(remote::dispatch(store, self))
    }

    fn request_cancel<'a>(
        &'a self,
        _store: &'a Store,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remote::cancel(self, execution))
    }

    fn refresh<'a>(
        &'a self,
        store: &'a Store,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remote::refresh(store, self, execution))
    }

    fn wait_refresh_every(&self) -> Option<Duration> {
        Some(WAIT_REFRESH_EVERY)
    }

    /// The job's logs as Ray keeps them (everything its entrypoint printed).
    fn logs<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<Logs>> {
        Box::pin(async move {
            let text = if execution.backend_job_id.is_empty() {
                String::new() // no job yet
            } else {
                match self.client()?.logs(&execution.backend_job_id).await {
                    Err(Error::Resource {
                        failure: Failure::NotFound,
                        ..
                    }) => return Err(Error::resource(
                        format!("Ray job {}", execution.backend_job_id),
                        Failure::NotFound,
                        "the cluster no longer has this job (a restarted head forgets its jobs)",
                    )),
                    other => other?,
                }
            };
            Ok(Logs {
                source: LogSource::Job,
                text,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(config: serde_json::Value) -> RayBackend {
        RayBackend::new(serde_json::from_value(config).unwrap())
    }

    fn execution(spec: ExecutionSpec) -> Execution {
        let mut e = crate::service::Service::new_execution(
            spec,
            &crate::storage::Location::Local("/shared/runs".into()),
        );
        e.id = "0123abcd".into();
        e
    }

    #[test]
    fn the_request_carries_the_shape_the_environment_and_the_execution() {
        let ray = backend(serde_json::json!({
            "address": "http://127.0.0.1:8265",
            "machine_types": {
                "small": {"num_cpus": 1},
                "gpu": {"num_cpus": 8, "num_gpus": 1, "memory": "32GiB", "resources": {"accelerator_type:T4": 1}}
            },
            "executable": "/opt/venv/bin/notebook-executor",
            "runtime_env": {"pip": ["pandas==2.2"], "working_dir": "gs://b/code.zip", "env_vars": {"A": "1"}}
        }));
        let mut spec = ExecutionSpec {
            display_name: "daily report".into(),
            input_notebook: "/home/u/report.ipynb".into(),
            machine_type: "gpu".into(),
            ..Default::default()
        };
        spec.labels.insert("team".into(), "ml".into());
        spec.schedule_id = Some("s1".into());
        let e = execution(spec);
        let command = remote::run_command(&e);
        let request = ray.request_of(&e, &command);
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body["submission_id"], "0123abcd");
        assert_eq!(body["entrypoint_num_cpus"], 8.0);
        assert_eq!(body["entrypoint_num_gpus"], 1.0);
        assert_eq!(body["entrypoint_memory"], 32u64 << 30);
        assert_eq!(
            body["entrypoint_resources"],
            serde_json::json!({"accelerator_type:T4": 1.0})
        );
        assert_eq!(
            body["runtime_env"]["pip"],
            serde_json::json!(["pandas==2.2"])
        );
        assert_eq!(body["runtime_env"]["working_dir"], "gs://b/code.zip");
        assert_eq!(body["runtime_env"]["env_vars"]["A"], "1");
        assert_eq!(
            body["metadata"],
            serde_json::json!({"team": "ml", "notebook-executor-execution": "0123abcd",
                               "notebook-executor-name": "daily report", "notebook-executor-schedule": "s1"})
        );
        assert!(request
            .entrypoint
            .starts_with("/opt/venv/bin/notebook-executor run /shared/runs/report-"));
        assert!(request
            .entrypoint
            .contains(".input.ipynb /shared/runs/report-"));
        // Nothing reserved without a shape.
        let plain = backend(serde_json::json!({"address": "127.0.0.1:8265"}));
        let body = serde_json::to_value(plain.request_of(&e, &command)).unwrap();
        assert!(
            body.get("entrypoint_num_cpus").is_none() && body.get("entrypoint_resources").is_none()
        );
    }

    #[test]
    fn words_reach_the_program_as_they_are() {
        assert_eq!(shell_quote("plain-word_1.ipynb"), "plain-word_1.ipynb");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's $HOME; rm"), r"'it'\''s $HOME; rm'");
        assert_eq!(shell_quote(r#"{"a":"b c"}"#), r#"'{"a":"b c"}'"#);
    }

    #[test]
    fn the_address_is_the_dashboards() {
        assert_eq!(
            api_base("127.0.0.1:8265/").unwrap(),
            "http://127.0.0.1:8265"
        );
        assert_eq!(
            api_base("https://ray.example.com").unwrap(),
            "https://ray.example.com"
        );
        assert!(api_base("ray://head:10001")
            .unwrap_err()
            .contains("dashboard"));
        assert!(api_base("").unwrap_err().contains("RAY_ADDRESS"));
    }

    #[test]
    fn fields_of_the_cloud_backends_are_refused_by_name() {
        let ray = backend(serde_json::json!({"address": "http://127.0.0.1:8265",
                                             "machine_types": {"small": {"num_cpus": 1}, "big": {"num_cpus": 8}}}));
        let mut spec = ExecutionSpec::default();
        ray.validate(&mut spec).unwrap();
        assert_eq!(spec.machine_type, "small");
        for (field, spec) in [
            (
                "machine_type",
                ExecutionSpec {
                    machine_type: "huge".into(),
                    ..Default::default()
                },
            ),
            (
                "accelerator_type",
                ExecutionSpec {
                    accelerator_type: "NVIDIA_TESLA_T4".into(),
                    ..Default::default()
                },
            ),
            (
                "region",
                ExecutionSpec {
                    region: "us-central1".into(),
                    ..Default::default()
                },
            ),
            (
                "environment",
                ExecutionSpec {
                    environment: "img".into(),
                    ..Default::default()
                },
            ),
        ] {
            let mut spec = spec;
            match ray.validate(&mut spec) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_bad_configuration_is_said_when_the_backend_is_used() {
        let ray = backend(serde_json::json!({"machine_types": {"x": {"num_cpus": -1}},
                                             "runtime_env": {"env_vars": {"A": 1}}}));
        let error = ray
            .validate(&mut ExecutionSpec::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("machine type \"x\"") && error.contains("env_vars"),
            "{error}"
        );
    }

    #[test]
    fn a_failed_jobs_message_is_its_first_line_and_the_end_of_its_logs() {
        let long = format!(
            "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n{}\nboom",
            (0..100).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n")
        );
        let message = failure_message(&long);
        assert!(message.starts_with("Job entrypoint command failed with exit code 1"));
        assert!(message.ends_with("line 98\nline 99\nboom") && !message.contains("line 90\n"));
    }
}
