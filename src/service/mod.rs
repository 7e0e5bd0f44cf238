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
pub use runner::run_runner;
pub use scheduler::run_scheduler;

use crate::backend::Backends;
use crate::engine::{self, RunOptions};
use crate::error::{Error, Result};
use crate::kernel::KernelSearch;
use crate::model::{Execution, ExecutionSpec, Progress, State, DEFAULT_BACKEND};
use crate::params::{ParamValue, Parameters};
use crate::store::{now_text, ListFilter, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub backends: Backends,
    pub search: KernelSearch,
    pub default_output_dir: PathBuf,
    /// Wakes this process's scheduler when it changes a schedule (other processes' changes
    /// are seen by the scheduler's change check).
    pub schedules_changed: Arc<tokio::sync::Notify>,
}

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
    pub fn staged_input(&self, id: &str) -> PathBuf {
        self.store.staging_dir.join(format!("{id}.ipynb"))
    }

    /// Checks a submission as a run would check it (backend fields, timeouts, notebook,
    /// kernel, parameters, output location) and fills in the defaults. Returns the output
    /// folder. Writes nothing but the output folder.
    pub fn validate_spec(&self, spec: &mut ExecutionSpec) -> Result<PathBuf> {
        if spec.backend.is_empty() {
            spec.backend = DEFAULT_BACKEND.into();
        }
        let backend = self.backends.get(&spec.backend)?;
        backend.validate(spec)?;
        for (field, value) in [
            ("timeout_seconds", spec.timeout_seconds),
            ("cell_timeout_seconds", spec.cell_timeout_seconds),
        ] {
            if value.is_some_and(|v| !(v > 0.0) || !v.is_finite()) {
                return Err(Error::invalid(
                    field,
                    "must be a positive number of seconds",
                ));
            }
        }
        let input = PathBuf::from(&spec.input_notebook);
        if spec.display_name.is_empty() {
            spec.display_name = input
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let prepared = engine::prepare(RunOptions {
            input,
            parameters: parameters_of(spec),
            kernel_name: Some(spec.kernel_name.clone()).filter(|k| !k.is_empty()),
            search: self.search.clone(),
            ..Default::default()
        })?;
        if spec.kernel_name.is_empty() {
            spec.kernel_name = prepared.spec.name.clone();
        }
        self.output_dir(spec, &backend.capabilities().output_schemes)
    }

    /// A new QUEUED record for a checked spec, its outputs named
    /// `{notebook}-{timestamp}-{short id}` in `output_dir`.
    pub fn new_execution(spec: ExecutionSpec, output_dir: &Path) -> Execution {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_text();
        let stem = Path::new(&spec.input_notebook)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
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
            create_time: now.clone(),
            start_time: None,
            end_time: None,
            update_time: now,
            progress: Progress::default(),
            output_notebook_uri: output_dir
                .join(format!("{output_name}.ipynb"))
                .display()
                .to_string(),
            // Written when the run ends (the notebook is written after every cell).
            output_html_uri: output_dir
                .join(format!("{output_name}.html"))
                .display()
                .to_string(),
            backend_job_id: String::new(),
        }
    }

    /// Validates everything, snapshots the notebook, records the execution QUEUED and
    /// starts a runner if a slot is free. Nothing is written when anything is wrong.
    pub async fn submit(&self, mut spec: ExecutionSpec) -> Result<Execution> {
        let output_dir = self.validate_spec(&mut spec)?;
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
        let input = PathBuf::from(&spec.input_notebook);
        let execution = Service::new_execution(spec, &output_dir);
        let id = execution.id.clone();
        // The snapshot: later edits of the file do not change this run.
        let staged = self.staged_input(&id);
        std::fs::copy(&input, &staged).map_err(|e| Error::io(&staged, e))?;
        if let Err(e) = self.store.insert_execution(&execution).await {
            let _ = std::fs::remove_file(&staged);
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
        self.dispatch().await?;
        Ok(execution)
    }

    fn output_dir(&self, spec: &ExecutionSpec, schemes: &[&str]) -> Result<PathBuf> {
        let location = spec.output_location.trim();
        let scheme = location.split_once("://").map_or("", |(scheme, _)| scheme);
        if !schemes.contains(&scheme) {
            return Err(Error::invalid(
                "output_location",
                format!(
                    "the {} backend cannot write to {scheme}:// locations",
                    spec.backend
                ),
            ));
        }
        let dir = match location.strip_prefix("file://").unwrap_or(location) {
            "" => self.default_output_dir.clone(),
            other => PathBuf::from(other),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::invalid("output_location", format!("{}: {e}", dir.display())))?;
        let probe = dir.join(format!(
            ".notebook-executor-probe-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&probe, b"").map_err(|e| {
            Error::invalid(
                "output_location",
                format!("{} is not writable: {e}", dir.display()),
            )
        })?;
        let _ = std::fs::remove_file(probe);
        Ok(dir)
    }

    /// Lets every backend start work for queued executions and bring running ones up to
    /// date (e.g. fail the executions of dead runners).
    pub async fn dispatch(&self) -> Result<()> {
        for backend in self.backends.all() {
            backend.dispatch(&self.store).await?;
        }
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Execution> {
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
        let (items, next) = self
            .store
            .list_executions(filter, page_size, before)
            .await?;
        Ok(Page {
            items,
            next_page_token: next.map(encode_token),
        })
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
        let _ = std::fs::remove_file(self.staged_input(id));
        if !keep_outputs {
            for uri in [&execution.output_notebook_uri, &execution.output_html_uri] {
                if !uri.is_empty() {
                    let _ = std::fs::remove_file(uri);
                }
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

    /// Waits until the execution is terminal (or `timeout`).
    pub async fn wait(&self, id: &str, timeout: Option<Duration>) -> Result<Execution> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        // Also the heartbeat check: a dead runner's execution ends FAILED here.
        self.dispatch().await?;
        let mut last_recover = tokio::time::Instant::now();
        loop {
            let execution = self.store.get_execution(id).await?;
            if execution.state.is_terminal() {
                return Ok(execution);
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
                self.dispatch().await?;
                last_recover = tokio::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Copies the executed notebook into `dest_dir` (never over an existing file) and
    /// returns the new file's path.
    pub async fn import_result(&self, id: &str, dest_dir: &Path) -> Result<PathBuf> {
        let execution = self.store.get_execution(id).await?;
        let source = PathBuf::from(&execution.output_notebook_uri);
        if !source.is_file() {
            return Err(Error::NotFound {
                kind: "output notebook of execution",
                id: id.to_owned(),
            });
        }
        std::fs::create_dir_all(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
        let name = source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| id.to_owned());
        for n in 0.. {
            let candidate = dest_dir.join(if n == 0 {
                format!("{name}.ipynb")
            } else {
                format!("{name}-{n}.ipynb")
            });
            // create_new: two imports at once never take the same name.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&candidate)
            {
                Ok(mut file) => {
                    let mut input =
                        std::fs::File::open(&source).map_err(|e| Error::io(&source, e))?;
                    std::io::copy(&mut input, &mut file).map_err(|e| Error::io(&candidate, e))?;
                    return Ok(candidate);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&candidate, e)),
            }
        }
        unreachable!("some name is free")
    }
}

pub fn parameters_of(spec: &ExecutionSpec) -> Parameters {
    spec.parameters
        .iter()
        .map(|(k, v)| (k.clone(), ParamValue::from_json(v)))
        .collect()
}
