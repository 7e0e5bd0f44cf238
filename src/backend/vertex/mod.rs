//! The `vertex` backend: each execution runs as one Vertex AI custom training job (as the
//! managed notebook executor does), whose container runs `notebook-executor run` on the
//! notebook staged beside the output in Cloud Storage. See `remote` for how the record
//! follows the job.

mod api;
pub mod catalogue;
mod labels;

use super::remote::{self, JobApi, Phase};
use super::{check_offered, Backend, BoxFuture, Capabilities};
use crate::error::{Error, Result};
use crate::google;
use crate::model::{Execution, ExecutionSpec};
use crate::store::Store;
use api::{
    Client, ContainerSpec, CustomJob, DiskSpec, EnvVar, JobSpec, MachineSpec, WorkerPoolSpec,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

pub const NAME: &str = "vertex";

/// The label that ties a job to its execution (and finds it again after a crash).
pub const EXECUTION_LABEL: &str = "notebook-executor-execution";
pub const SCHEDULE_LABEL: &str = "notebook-executor-schedule";

/// The backend's settings (the server's `c.NotebookExecutor.vertex_*`; for the CLI and the
/// Python API the `NOTEBOOK_EXECUTOR_VERTEX_*` variables fill what is not given). Empty
/// lists offer the whole catalogue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VertexConfig {
    /// Default: `GOOGLE_CLOUD_PROJECT`, the credentials', the metadata server's.
    pub project: String,
    pub regions: Vec<String>,
    pub default_region: String,
    pub machine_types: Vec<String>,
    pub accelerator_types: Vec<String>,
    /// Images that have `notebook-executor` on their PATH; the first is the default.
    pub container_images: Vec<String>,
    /// Where results go when a submission names none (a `gs://` prefix).
    pub output_location: String,
    pub service_account: String,
    pub network: String,
    /// Scheme and host of the API (`{region}` replaced), for tests and private endpoints.
    pub endpoint: String,
    pub boot_disk_type: String,
    pub boot_disk_size_gb: i32,
}

impl VertexConfig {
    /// Fills what is not set from the environment and the defaults.
    pub fn resolved(mut self) -> VertexConfig {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let list = |text: String| -> Vec<String> {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        if self.project.is_empty() {
            self.project = env("NOTEBOOK_EXECUTOR_VERTEX_PROJECT").unwrap_or_default();
        }
        if self.regions.is_empty() {
            self.regions = env("NOTEBOOK_EXECUTOR_VERTEX_REGIONS")
                .map(list)
                .unwrap_or_default();
        }
        if self.default_region.is_empty() {
            self.default_region = env("NOTEBOOK_EXECUTOR_VERTEX_REGION")
                .or_else(|| self.regions.first().cloned())
                .unwrap_or_else(|| catalogue::DEFAULT_REGION.to_owned());
        }
        if self.container_images.is_empty() {
            self.container_images = env("NOTEBOOK_EXECUTOR_VERTEX_IMAGE")
                .map(list)
                .unwrap_or_default();
        }
        for (field, var) in [
            (
                &mut self.output_location,
                "NOTEBOOK_EXECUTOR_VERTEX_OUTPUT_LOCATION",
            ),
            (
                &mut self.service_account,
                "NOTEBOOK_EXECUTOR_VERTEX_SERVICE_ACCOUNT",
            ),
            (&mut self.network, "NOTEBOOK_EXECUTOR_VERTEX_NETWORK"),
            (&mut self.endpoint, "NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT"),
        ] {
            if field.is_empty() {
                *field = env(var).unwrap_or_default();
            }
        }
        if self.boot_disk_type.is_empty() {
            self.boot_disk_type = "pd-ssd".into();
        }
        if self.boot_disk_size_gb <= 0 {
            self.boot_disk_size_gb = 100;
        }
        self
    }

    fn offered(configured: &[String], catalogue: &[&str]) -> Vec<String> {
        if configured.is_empty() {
            catalogue.iter().map(|s| (*s).to_owned()).collect()
        } else {
            configured.to_vec()
        }
    }
}

pub struct VertexBackend {
    config: VertexConfig,
}

impl VertexBackend {
    pub fn new(config: VertexConfig) -> VertexBackend {
        VertexBackend {
            config: config.resolved(),
        }
    }

    async fn client(&self) -> Result<Client> {
        let project = if self.config.project.is_empty() {
            google::project().await?
        } else {
            self.config.project.clone()
        };
        Ok(Client {
            endpoint: self.config.endpoint.clone(),
            project,
        })
    }

    /// The job of an execution, field by field from its record.
    fn job_of(&self, execution: &Execution, command: &[String]) -> Result<CustomJob> {
        let spec = &execution.spec;
        let mut labels = labels::user_labels(&spec.labels)?;
        labels.insert(EXECUTION_LABEL.to_owned(), execution.id.clone());
        if let Some(schedule) = &spec.schedule_id {
            labels.insert(SCHEDULE_LABEL.to_owned(), schedule.clone());
        }
        let mut env = Vec::new();
        if let Ok(every) = std::env::var("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL") {
            env.push(EnvVar {
                name: "NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL".into(),
                value: every,
            });
        }
        let (program, args) = command.split_first().expect("a command");
        Ok(CustomJob {
            display_name: spec.display_name.chars().take(128).collect(),
            labels,
            job_spec: JobSpec {
                worker_pool_specs: vec![WorkerPoolSpec {
                    machine_spec: MachineSpec {
                        machine_type: spec.machine_type.clone(),
                        accelerator_type: spec.accelerator_type.clone(),
                        accelerator_count: spec.accelerator_count as i32,
                    },
                    replica_count: "1".into(),
                    disk_spec: DiskSpec {
                        boot_disk_type: self.config.boot_disk_type.clone(),
                        boot_disk_size_gb: self.config.boot_disk_size_gb,
                    },
                    container_spec: ContainerSpec {
                        image_uri: spec.environment.clone(),
                        command: vec![program.clone()],
                        args: args.to_vec(),
                        env,
                    },
                }],
                service_account: spec.service_account.clone(),
                network: spec.network.clone(),
                // The run stops itself at its timeout (and says so in its status); the
                // platform's limit, a minute later, is the backstop for a stuck job. Beyond
                // Vertex's own default (7 days), the default stands.
                scheduling: crate::timeouts::timeout("timeout_seconds", spec.timeout_seconds)?
                    .map(|t| t.as_secs_f64().ceil() as u64 + 60)
                    .filter(|s| *s <= 7 * 86400)
                    .map(|s| api::Scheduling {
                        timeout: format!("{s}s"),
                    }),
            },
            ..Default::default()
        })
    }
}

/// A job's phase, in our words.
fn phase_of(job: &CustomJob) -> Phase {
    let message = || {
        job.error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };
    match job.state.as_str() {
        "JOB_STATE_RUNNING" => Phase::Running,
        "JOB_STATE_SUCCEEDED" | "JOB_STATE_PARTIALLY_SUCCEEDED" => Phase::Succeeded,
        // DEADLINE_EXCEEDED: the job's own time limit.
        "JOB_STATE_FAILED" if job.error.as_ref().is_some_and(|e| e.code == 4) => {
            Phase::Expired(message())
        }
        "JOB_STATE_FAILED" => Phase::Failed(message()),
        "JOB_STATE_EXPIRED" => Phase::Expired(message()),
        "JOB_STATE_CANCELLING" => Phase::Cancelling,
        "JOB_STATE_CANCELLED" => Phase::Cancelled,
        _ => Phase::Preparing,
    }
}

impl JobApi for VertexBackend {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    fn create_job<'a>(
        &'a self,
        execution: &'a Execution,
        command: &'a [String],
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let client = self.client().await?;
            let region = &execution.spec.region;
            let filter = format!("labels.{EXECUTION_LABEL}=\"{}\"", execution.id);
            if let Some(existing) = client.list(region, &filter).await?.into_iter().next() {
                return Ok(existing.name);
            }
            let job = self.job_of(execution, command)?;
            Ok(client.create(region, &job).await?.name)
        })
    }

    fn job_phases<'a>(
        &'a self,
        executions: &'a [Execution],
    ) -> BoxFuture<'a, Result<HashMap<String, Phase>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let mut phases = HashMap::new();
            if let [one] = executions {
                match client.get(&one.backend_job_id).await {
                    Ok(job) => {
                        phases.insert(job.name.clone(), phase_of(&job));
                    }
                    Err(Error::Resource {
                        failure: crate::error::Failure::NotFound,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
                return Ok(phases);
            }
            // One list call per region: the jobs created since the oldest one we follow.
            let mut by_region: BTreeMap<&str, Vec<&Execution>> = BTreeMap::new();
            for e in executions {
                by_region
                    .entry(api::region_of(&e.backend_job_id))
                    .or_default()
                    .push(e);
            }
            for (region, followed) in by_region {
                let since = followed
                    .iter()
                    .filter_map(|e| e.start_time.as_deref())
                    .min()
                    .map(|t| crate::store::time_text_before(t, std::time::Duration::from_secs(600)))
                    .unwrap_or_default();
                let mut filter = format!("labels.{EXECUTION_LABEL}:*");
                if !since.is_empty() {
                    filter.push_str(&format!(" AND create_time>=\"{since}\""));
                }
                for job in client.list(region, &filter).await? {
                    phases.insert(job.name.clone(), phase_of(&job));
                }
                // Not listed (older than the window, or gone): asked one by one.
                let unlisted: Vec<&&Execution> = followed
                    .iter()
                    .filter(|e| !phases.contains_key(&e.backend_job_id))
                    .collect();
                for e in unlisted {
                    match client.get(&e.backend_job_id).await {
                        Ok(job) => {
                            phases.insert(job.name.clone(), phase_of(&job));
                        }
                        Err(Error::Resource {
                            failure: crate::error::Failure::NotFound,
                            ..
                        }) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(phases)
        })
    }

    fn cancel_job<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.client().await?.cancel(&execution.backend_job_id).await })
    }

    /// `jobSpec.scheduling.timeout` (see `job_of`).
    fn cancels_overdue_jobs(&self) -> bool {
        true
    }
}

impl Backend for VertexBackend {
    fn capabilities(&self) -> Capabilities {
        let c = &self.config;
        Capabilities {
            name: NAME,
            machine_types: VertexConfig::offered(&c.machine_types, catalogue::MACHINE_TYPES),
            machine_type_descriptions: Default::default(),
            accelerator_types: VertexConfig::offered(
                &c.accelerator_types,
                catalogue::ACCELERATOR_TYPES,
            ),
            regions: VertexConfig::offered(&c.regions, catalogue::REGIONS),
            output_schemes: vec!["gs"],
            default_output_location: Some(c.output_location.clone()).filter(|o| !o.is_empty()),
            container_images: c.container_images.clone(),
            default_region: Some(c.default_region.clone()),
            remote: true,
        }
    }

    /// Any setting of its own, or a project from the environment (ADC alone, from a
    /// metadata server, is not looked up here: the config route makes no call).
    fn configured(&self) -> bool {
        let c = &self.config;
        let project_in_env =
            std::env::var("GOOGLE_CLOUD_PROJECT").is_ok_and(|p| !p.trim().is_empty());
        project_in_env
            || [
                &c.project,
                &c.output_location,
                &c.endpoint,
                &c.service_account,
                &c.network,
            ]
            .iter()
            .any(|s| !s.is_empty())
            || !c.regions.is_empty()
            || !c.container_images.is_empty()
            || !c.machine_types.is_empty()
    }

    fn fields(&self) -> &'static [&'static str] {
        &[
            "machine_type",
            "accelerator_type",
            "accelerator_count",
            "environment",
            "region",
            "service_account",
            "network",
        ]
    }

    /// The job's fields, checked before any call, each error naming its field; the
    /// defaults (machine type, region, image, service account, network) filled in.
    fn validate(&self, spec: &mut ExecutionSpec) -> Result<()> {
        let offered = self.capabilities();
        if spec.machine_type.is_empty() {
            spec.machine_type = catalogue::DEFAULT_MACHINE_TYPE.into();
        }
        check_offered(
            "machine_type",
            &spec.machine_type,
            &offered.machine_types,
            NAME,
        )?;
        if spec.region.is_empty() {
            spec.region = self.config.default_region.clone();
        }
        check_offered("region", &spec.region, &offered.regions, NAME)?;
        check_offered(
            "accelerator_type",
            &spec.accelerator_type,
            &offered.accelerator_types,
            NAME,
        )?;
        check_accelerator(spec)?;
        if spec.environment.is_empty() {
            spec.environment = self.config.container_images.first().cloned().ok_or_else(|| {
                Error::invalid(
                    "environment",
                    "the Vertex AI backend needs a container image with notebook-executor installed: \
                     give one, or set NOTEBOOK_EXECUTOR_VERTEX_IMAGE (c.NotebookExecutor.vertex_container_images)",
                )
            })?;
        }
        if spec.service_account.is_empty() {
            spec.service_account = self.config.service_account.clone();
        }
        if spec.network.is_empty() {
            spec.network = self.config.network.clone();
        }
        labels::user_labels(&spec.labels).map(drop)
    }

    /// A project and credentials are needed before anything is written.
    fn check_available(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.client().await?;
            google::bearer_token().await.map(drop)
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
}

/// An accelerator needs a count of at least 1 and a machine family that takes it, in a
/// number that machine has.
fn check_accelerator(spec: &ExecutionSpec) -> Result<()> {
    let machine = &spec.machine_type;
    let fit = catalogue::fit(machine);
    if spec.accelerator_type.is_empty() {
        if spec.accelerator_count != 0 {
            return Err(Error::invalid(
                "accelerator_count",
                "give an accelerator_type with a count",
            ));
        }
        return match fit {
            Some(fit) if fit.required => Err(Error::invalid(
                "accelerator_type",
                format!(
                    "{machine} comes with GPUs: give accelerator_type {} and accelerator_count {}",
                    fit.types.join(" or "),
                    fit.counts.first().copied().unwrap_or(1)
                ),
            )),
            _ => Ok(()),
        };
    }
    let Some(fit) = fit.filter(|f| f.types.contains(&spec.accelerator_type.as_str())) else {
        return Err(Error::invalid(
            "accelerator_type",
            format!(
                "{} does not go with {machine} (n1 takes T4, V100, P100 or P4; a2 A100; g2 L4; a3 H100)",
                spec.accelerator_type
            ),
        ));
    };
    if spec.accelerator_count < 1 || !fit.counts.contains(&spec.accelerator_count) {
        let counts: Vec<String> = fit.counts.iter().map(i64::to_string).collect();
        return Err(Error::invalid(
            "accelerator_count",
            format!(
                "{machine} takes {} {} (given {})",
                counts.join(", "),
                spec.accelerator_type,
                spec.accelerator_count
            ),
        ));
    }
    Ok(())
}
