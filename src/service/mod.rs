//! The execution service: submission (validated, snapshotted, idempotent), listing,
//! cancel, delete, wait, import, and dispatch to the backends. There is no central
//! daemon: a submission asks its backend to start work (locally: reserve a runner slot
//! and start a runner process, which takes queued executions until none is left).

mod results;
mod runner;
mod scheduler;
mod schedules;

pub use schedules::{PreparedFiring, SchedulePage};

pub use results::Changes;
pub use runner::{run_runner, WarmOptions};
pub use scheduler::run_scheduler;

use crate::backend::{Backends, Capabilities};
use crate::engine::{self, RunOptions};
use crate::error::{Error, Failure, Result};
use crate::kernel::KernelSearch;
use crate::model::{
    staged_input_uri_of, status_uri_of, Execution, ExecutionSpec, Progress, State, DEFAULT_BACKEND,
};
use crate::params::{ParamValue, Parameters};
use crate::storage::{self, Location};
use crate::store::{now_text, ListFilter, Store};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub backends: Backends,
    pub search: KernelSearch,
    /// Where results go when a submission names no output location.
    pub default_output: Location,
    /// Wakes this process's scheduler when it changes a schedule (other processes' changes
    /// are seen by the scheduler's change check).
    pub schedules_changed: Arc<tokio::sync::Notify>,
    /// When a listing last brought each remote backend's records up to date.
    pub listing_refreshed: Arc<std::sync::Mutex<HashMap<&'static str, tokio::time::Instant>>>,
}

/// A listing asks a remote engine about its jobs at most this often (the dispatcher of a
/// server or `serve` keeps them current meanwhile).
const LISTING_REFRESH_EVERY: Duration = Duration::from_secs(2);

pub struct Page {
    pub items: Vec<Execution>,
    pub next_page_token: Option<String>,
}

fn encode_token(seq: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_token(token: &str) -> Result<i64> {
    use base64::Engine;
    let bad = || Error::invalid("page_token", "not a page token returned by list");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    String::from_utf8(bytes)
        .ok()
        .and_then(|s| s.strip_prefix("seq:").and_then(|n| n.parse().ok()))
        .ok_or_else(bad)
}

impl Service {
    /// The snapshot of a submitted notebook (local, next to the store).
    pub fn staged_input(&self, id: &str) -> PathBuf {
        self.store.staging_dir.join(format!("{id}.ipynb"))
    }

    /// Checks a submission as a run would check it (backend fields, timeouts, notebook,
    /// kernel, parameters, output location) and fills in the defaults. Returns the output
    /// folder, checked writable (a local one is created), and the run's warnings. Writes
    /// nothing else.
    pub async fn validate_spec(&self, spec: &mut ExecutionSpec) -> Result<(Location, Vec<String>)> {
        let output = self.check_spec(spec)?;
        let backend = self.backends.get(&spec.backend)?;
        backend.check_available().await?;
        let input = storage::parse_field("input_notebook", &spec.input_notebook)?;
        if spec.display_name.is_empty() {
            spec.display_name = input.stem().unwrap_or_default();
        }
        let prepared = engine::prepare(RunOptions {
            input,
            parameters: parameters_of(spec),
            kernel_name: Some(spec.kernel_name.clone()).filter(|k| !k.is_empty()),
            search: self.search.clone(),
            kernel_elsewhere: backend.capabilities().remote,
            ..Default::default()
        })
        .await?;
        if spec.kernel_name.is_empty() {
            spec.kernel_name = prepared.spec.name.clone();
        }
        storage::check_writable(&output)
            .await
            .map_err(|e| match e {
                Error::Resource {
                    message, resource, ..
                } => Error::invalid("output_location", format!("{resource}: {message}")),
                other => other,
            })?;
        Ok((output, prepared.warnings))
    }

    /// The checks that need no file or network: backend fields, timeouts, the output
    /// location's form. Fills in the backend; returns the output folder.
    fn check_spec(&self, spec: &mut ExecutionSpec) -> Result<Location> {
        check_sizes(spec)?;
        if spec.backend.is_empty() {
            spec.backend = DEFAULT_BACKEND.into();
        }
        let backend = self.backends.get(&spec.backend)?;
        backend.validate(spec)?;
        crate::timeouts::timeout("timeout_seconds", spec.timeout_seconds)?;
        crate::timeouts::timeout("cell_timeout_seconds", spec.cell_timeout_seconds)?;
        self.output_folder(spec, &backend.capabilities())
    }

    /// The submission's output folder (the backend's default, else the service's, when it
    /// names none), if its backend writes there.
    fn output_folder(&self, spec: &ExecutionSpec, backend: &Capabilities) -> Result<Location> {
        let text = match spec.output_location.trim() {
            "" => backend.default_output_location.as_deref().unwrap_or(""),
            given => given,
        };
        let folder = if text.is_empty() {
            self.default_output.clone()
        } else {
            Location::parse_folder(text).map_err(|m| Error::invalid("output_location", m))?
        };
        if !backend.output_schemes.contains(&folder.scheme()) {
            return Err(Error::invalid(
                "output_location",
                format!(
                    "the {} backend cannot write to {}:// locations",
                    spec.backend,
                    folder.scheme()
                ),
            ));
        }
        Ok(folder.absolute())
    }

    /// A new QUEUED record for a checked spec, its outputs named
    /// `{notebook}-{timestamp}-{short id}` in `output`.
    pub fn new_execution(spec: ExecutionSpec, output: &Location) -> Execution {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_text();
        let stem = Location::parse(&spec.input_notebook)
            .ok()
            .and_then(|l| l.stem())
            .unwrap_or_else(|| "notebook".into());
        let output_name = format!(
            "{stem}-{}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            &id[..8]
        );
        Execution {
            id,
            spec,
            state: State::Queued,
            state_message: String::new(),
            failure_kind: Default::default(),
            create_time: now.clone(),
            start_time: None,
            end_time: None,
            update_time: now,
            progress: Progress::default(),
            output_notebook_uri: output.join(&format!("{output_name}.ipynb")).to_string(),
            // Written when the run ends (the notebook is written as it runs).
            output_html_uri: output.join(&format!("{output_name}.html")).to_string(),
            backend_job_id: String::new(),
        }
    }

    /// Validates everything, snapshots the notebook, records the execution QUEUED and
    /// starts a runner if a slot is free. Nothing is written when anything is wrong.
    pub async fn submit(&self, mut spec: ExecutionSpec) -> Result<Execution> {
        let (output, warnings) = self.validate_spec(&mut spec).await?;
        if let Some(token) = spec.idempotency_token.clone().filter(|t| !t.is_empty()) {
            if let Some(existing) = self.store.execution_by_token(&token).await? {
                return if existing.spec == spec {
                    Ok(existing)
                } else {
                    Err(Error::Conflict(format!(
                        "idempotency token {token:?} was used for execution {} with other fields",
                        existing.id
                    )))
                };
            }
        }
        let input = storage::parse_field("input_notebook", &spec.input_notebook)?;
        let mut execution = Service::new_execution(spec, &output);
        // Said at once, and kept until the run's end says them again.
        execution.state_message = warnings.join("\n");
        let id = execution.id.clone();
        // The snapshot: later edits of the file do not change this run.
        let staged = Location::Local(self.staged_input(&id));
        storage::copy(&input, &staged).await?;
        if let Err(e) = self.store.insert_execution(&execution).await {
            let _ = storage::delete(&staged).await;
            if let (Error::Conflict(_), Some(token)) =
                (&e, execution.spec.idempotency_token.as_deref())
            {
                // Another process won the race for this token: same answer as above.
                if let Some(existing) = self.store.execution_by_token(token).await? {
                    return if existing.spec == execution.spec {
                        Ok(existing)
                    } else {
                        Err(e)
                    };
                }
            }
            return Err(e);
        }
        // Its backend starts it (a remote one creates its job now).
        self.backends
            .get(&execution.spec.backend)?
            .dispatch(&self.store)
            .await?;
        // As it is now: a remote backend's dispatch has created its job already.
        self.store.get_execution(&id).await
    }

    /// Lets every backend start work for queued executions and bring running ones up to
    /// date (e.g. fail the executions of dead runners). A backend whose engine cannot be
    /// reached does not hold up the others: every backend runs, then the first error is
    /// returned.
    pub async fn dispatch(&self) -> Result<()> {
        let mut first_error = None;
        for backend in self.backends.all() {
            if let Err(e) = backend.dispatch(&self.store).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Lets every backend prepare for work to come (see `Backend::maintain`); like
    /// `dispatch`, one backend's failure does not hold up the others.
    pub async fn maintain(&self, due_soon: &[String]) -> Result<()> {
        let mut first_error = None;
        for backend in self.backends.all() {
            if let Err(e) = backend.maintain(&self.store, due_soon).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Lets go of what `maintain` kept, in every backend.
    pub async fn retire(&self) {
        for backend in self.backends.all() {
            let _ = backend.retire(&self.store).await;
        }
    }

    /// What each backend keeps ready for work, by backend name (those that keep nothing
    /// are left out).
    pub async fn warm_pools(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut pools = serde_json::Map::new();
        for backend in self.backends.all() {
            let pool = backend.warm_pool(&self.store).await?;
            if !pool.is_null() {
                pools.insert(backend.capabilities().name.to_owned(), pool);
            }
        }
        Ok(pools)
    }

    /// The record; one that has not ended is first brought up to date by its backend (a
    /// remote job asked, a local runner checked; if that fails, the record as last seen).
    pub async fn get(&self, id: &str) -> Result<Execution> {
        let execution = self.store.get_execution(id).await?;
        if !execution.state.is_active() {
            return Ok(execution);
        }
        let backend = self.backends.get(&execution.spec.backend)?;
        if backend.refresh(&self.store, &execution).await.is_err() {
            return Ok(execution);
        }
        self.store.get_execution(id).await
    }

    pub async fn list(
        &self,
        filter: &ListFilter,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<Page> {
        if !(1..=1000).contains(&page_size) {
            return Err(Error::invalid("page_size", "must be between 1 and 1000"));
        }
        let before = page_token
            .filter(|t| !t.is_empty())
            .map(decode_token)
            .transpose()?;
        let (mut items, mut next) = self
            .store
            .list_executions(filter, page_size, before)
            .await?;
        if self.refresh_listed(&items).await {
            (items, next) = self
                .store
                .list_executions(filter, page_size, before)
                .await?;
        }
        Ok(Page {
            items,
            next_page_token: next.map(encode_token),
        })
    }

    /// Brings the remote backends of the page's running records up to date (at most every
    /// `LISTING_REFRESH_EVERY`); true if it did.
    async fn refresh_listed(&self, items: &[Execution]) -> bool {
        let mut refreshed = false;
        for backend in self.backends.all() {
            let capabilities = backend.capabilities();
            let name = capabilities.name;
            if !capabilities.remote
                || !items
                    .iter()
                    .any(|e| e.state.is_active() && e.spec.backend == name)
            {
                continue;
            }
            {
                let mut last = self.listing_refreshed.lock().expect("not poisoned");
                if last
                    .get(name)
                    .is_some_and(|t| t.elapsed() < LISTING_REFRESH_EVERY)
                {
                    continue;
                }
                last.insert(name, tokio::time::Instant::now());
            }
            refreshed |= backend.dispatch(&self.store).await.is_ok();
        }
        refreshed
    }

    /// A queued run never starts; a running one is stopped by its runner (interrupt, then
    /// kill) and ends CANCELLED with its partial output.
    pub async fn cancel(&self, id: &str) -> Result<Execution> {
        let current = self.store.get_execution(id).await?;
        if current.state.is_terminal() {
            return Err(Error::Conflict(format!(
                "execution {id} is already {}",
                current.state.as_str()
            )));
        }
        if !self
            .store
            .transition(
                id,
                &[State::Queued],
                State::Cancelled,
                Some("cancelled before it started"),
            )
            .await?
            && self
                .store
                .transition(
                    id,
                    &[State::Preparing, State::Running],
                    State::Cancelling,
                    Some("cancel requested"),
                )
                .await?
        {
            self.backends
                .get(&current.spec.backend)?
                .request_cancel(&self.store, &current)
                .await?;
        }
        self.store.get_execution(id).await
    }

    /// Removes the record and its snapshot, and its outputs unless `keep_outputs`.
    pub async fn delete(&self, id: &str, keep_outputs: bool) -> Result<()> {
        let execution = self.store.get_execution(id).await?;
        if execution.state.is_active() {
            return Err(Error::Conflict(format!(
                "execution {id} is {}: cancel it first",
                execution.state.as_str()
            )));
        }
        if !self.store.delete_execution(id).await? {
            return Err(Error::NotFound {
                kind: "execution",
                id: id.to_owned(),
            });
        }
        let _ = storage::delete(&Location::Local(self.staged_input(id))).await;
        // What a remote job was given and wrote beside its output (nothing, locally).
        let out = &execution.output_notebook_uri;
        let mut files = vec![staged_input_uri_of(out), status_uri_of(out)];
        if !keep_outputs {
            files.extend([out.clone(), execution.output_html_uri.clone()]);
        }
        for uri in files.iter().filter(|u| !u.is_empty()) {
            // Best effort: the record is gone; a file already removed is fine.
            if let Ok(location) = Location::parse(uri) {
                let _ = storage::delete(&location).await;
            }
        }
        Ok(())
    }

    /// Retention: deletes finished executions (records, snapshots, outputs) older than
    /// `older_than` or beyond the newest `keep_per_schedule` runs of each schedule.
    pub async fn purge(
        &self,
        older_than: Option<Duration>,
        keep_per_schedule: Option<i64>,
    ) -> Result<usize> {
        let cutoff = older_than.map(crate::store::time_text_ago);
        let ids = self
            .store
            .purgeable(cutoff.as_deref(), keep_per_schedule)
            .await?;
        self.sweep_staging().await?;
        let mut purged = 0;
        for id in ids {
            match self.delete(&id, false).await {
                Ok(()) => purged += 1,
                Err(Error::NotFound { .. }) => {} // deleted meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(purged)
    }

    /// Removes snapshots that no execution records: left by a scheduler killed between
    /// preparing a slot and firing it. Only files older than an hour (a snapshot is made
    /// just before its record is written).
    async fn sweep_staging(&self) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(&self.store.staging_dir) else {
            return Ok(());
        };
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for entry in entries.flatten() {
            let path = entry.path();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).filter(|_| old) else {
                continue;
            };
            if matches!(
                self.store.get_execution(id).await,
                Err(Error::NotFound { .. })
            ) {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// Waits until the execution is terminal (or `timeout`). A remote engine that cannot
    /// be reached meanwhile is waited for (its backend ends the execution if it stays away).
    pub async fn wait(&self, id: &str, timeout: Option<Duration>) -> Result<Execution> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        // Also the heartbeat check: a dead runner's execution ends FAILED here.
        self.dispatch_while_waiting().await?;
        let mut last_recover = tokio::time::Instant::now();
        let mut last_refresh = tokio::time::Instant::now();
        loop {
            let execution = self.store.get_execution(id).await?;
            if execution.state.is_terminal() {
                return Ok(execution);
            }
            // A remote job's end reaches the record only when someone asks the engine:
            // its backend says how often a waiter may.
            let backend = self.backends.get(&execution.spec.backend)?;
            if let Some(every) = backend.wait_refresh_every() {
                if last_refresh.elapsed() >= every {
                    ignore_unreachable(backend.refresh(&self.store, &execution).await)?;
                    last_refresh = tokio::time::Instant::now();
                    let execution = self.store.get_execution(id).await?;
                    if execution.state.is_terminal() {
                        return Ok(execution);
                    }
                }
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Err(Error::Timeout {
                    cell_index: None,
                    run_timeout: false,
                    message: format!(
                        "execution {id} is still {} after the wait timeout",
                        execution.state.as_str()
                    ),
                });
            }
            if last_recover.elapsed() > Duration::from_secs(2) {
                self.dispatch_while_waiting().await?;
                last_recover = tokio::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn dispatch_while_waiting(&self) -> Result<()> {
        ignore_unreachable(self.dispatch().await)
    }

    /// What the execution's run has printed so far: its job's logs where the engine keeps
    /// them, else the notebook's output (see `backend::logs`); the last `LOGS_LIMIT` bytes.
    pub async fn logs(&self, id: &str) -> Result<crate::backend::Logs> {
        let execution = self.store.get_execution(id).await?;
        let backend = self.backends.get(&execution.spec.backend)?;
        let mut logs = backend.logs(&execution).await?;
        logs.text = crate::backend::logs::tail(logs.text, LOGS_LIMIT);
        Ok(logs)
    }

    /// The executed notebook as it is now (the last write of a running one).
    pub async fn output_notebook(&self, id: &str) -> Result<(Vec<u8>, String)> {
        let execution = self.store.get_execution(id).await?;
        let source = output_of(&execution)?;
        let bytes = match storage::read(&source).await {
            Ok(bytes) => bytes,
            Err(Error::Resource {
                failure: Failure::NotFound,
                ..
            }) => {
                return Err(storage::error(
                    &source,
                    Failure::NotFound,
                    format!(
                        "execution {id} has no output notebook yet ({})",
                        execution.state.as_str()
                    ),
                ))
            }
            Err(e) => return Err(e),
        };
        Ok((
            bytes,
            source.file_name().unwrap_or_else(|| format!("{id}.ipynb")),
        ))
    }

    /// Copies the executed notebook into `dest_dir` (never over an existing file) and
    /// returns the new file's location.
    pub async fn import_result(&self, id: &str, dest_dir: &Location) -> Result<Location> {
        let (bytes, file_name) = self.output_notebook(id).await?;
        let name = file_name
            .strip_suffix(".ipynb")
            .unwrap_or(&file_name)
            .to_owned();
        for n in 0.. {
            let candidate = dest_dir.join(&if n == 0 {
                format!("{name}.ipynb")
            } else {
                format!("{name}-{n}.ipynb")
            });
            if storage::create_new(&candidate, bytes.clone()).await? {
                return Ok(candidate);
            }
        }
        unreachable!("some name is free")
    }
}

/// Caps on what a submission may hold: a record is shown in every listing, and no form
/// of ours comes near these.
const MAX_NAME: usize = 512;
const MAX_PATH: usize = 4096;
const MAX_TEXT: usize = 1024;
const MAX_LABELS: usize = 64;
const MAX_PARAMETERS_BYTES: usize = 1024 * 1024;

fn check_sizes(spec: &ExecutionSpec) -> Result<()> {
    let too_long =
        |field: &str, max: usize| Error::invalid(field, format!("at most {max} characters"));
    for (field, value, max) in [
        ("display_name", &spec.display_name, MAX_NAME),
        ("input_notebook", &spec.input_notebook, MAX_PATH),
        ("output_location", &spec.output_location, MAX_PATH),
        ("kernel_name", &spec.kernel_name, MAX_TEXT),
        ("environment", &spec.environment, MAX_TEXT),
        ("backend", &spec.backend, MAX_TEXT),
        ("machine_type", &spec.machine_type, MAX_TEXT),
        ("accelerator_type", &spec.accelerator_type, MAX_TEXT),
        ("region", &spec.region, MAX_TEXT),
        ("service_account", &spec.service_account, MAX_TEXT),
        ("network", &spec.network, MAX_TEXT),
    ] {
        if value.chars().count() > max {
            return Err(too_long(field, max));
        }
    }
    if spec
        .idempotency_token
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_NAME)
    {
        return Err(too_long("idempotency_token", MAX_NAME));
    }
    if spec.labels.len() > MAX_LABELS {
        return Err(Error::invalid(
            "labels",
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    let labels_too_long = spec.labels.iter().any(|(k, v)| {
        k.chars().count() > MAX_TEXT || v.as_str().is_some_and(|v| v.chars().count() > MAX_TEXT)
    });
    if labels_too_long {
        return Err(Error::invalid(
            "labels",
            format!("keys and values of at most {MAX_TEXT} characters"),
        ));
    }
    let parameters = serde_json::to_vec(&spec.parameters)
        .map(|b| b.len())
        .unwrap_or(0);
    if parameters > MAX_PARAMETERS_BYTES {
        return Err(Error::parameter(
            None,
            format!(
                "the parameters take {parameters} bytes as JSON; at most {MAX_PARAMETERS_BYTES}"
            ),
        ));
    }
    Ok(())
}

/// The most of an execution's logs one call returns (the end of them).
const LOGS_LIMIT: usize = 1 << 20;

/// An engine that cannot be reached is no error for a waiter: the records stay as last
/// seen until it answers (or its backend gives its executions up).
fn ignore_unreachable(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::Resource {
            failure: Failure::Unavailable,
            ..
        }) => Ok(()),
        other => other,
    }
}

/// Where an execution's notebook is written.
pub(crate) fn output_of(execution: &Execution) -> Result<Location> {
    Location::parse(&execution.output_notebook_uri).map_err(|m| Error::Store {
        url: String::new(),
        message: format!("execution {} has a bad output location: {m}", execution.id),
    })
}

pub fn parameters_of(spec: &ExecutionSpec) -> Parameters {
    spec.parameters
        .iter()
        .map(|(k, v)| (k.clone(), ParamValue::from_json(v)))
        .collect()
}
