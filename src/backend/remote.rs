//! What the remote backends share: an execution becomes one job of a remote engine (a
//! Vertex AI custom job, a Ray job) whose process runs `notebook-executor run` on a copy of
//! the notebook staged beside the output. The job never reaches the store; the record
//! follows the job: its state from the engine's API, its progress and the notebook's error
//! from the status object the run writes beside its output (`model::RunStatus`).
//!
//! Creation survives a crash between the engine's answer and the record's update: a
//! PREPARING execution without a job id for `CREATION_STALE_AFTER` goes back to the queue,
//! and creating looks for the execution's job first.
//!
//! An engine that cannot be reached leaves the records as last seen; one whose API stays
//! away for its `Reachability` limit (a Ray head that died) ends them FAILED, so that no
//! record stays RUNNING for ever.

use super::BoxFuture;
use crate::engine::status;
use crate::error::{Error, Failure, Result};
use crate::model::{staged_input_uri_of, status_uri_of, Execution, FailureKind, State};
use crate::render::write_result_page;
use crate::storage::{self, Location};
use crate::store::{time_text_ago, Store};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A PREPARING execution whose job was not recorded within this went through a crash.
const CREATION_STALE_AFTER: Duration = Duration::from_secs(120);
/// The claim marker of remote executions (they hold no runner).
const DISPATCHER: &str = "remote-dispatcher";

/// Where a job is, in our words.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Queued or provisioned by the engine.
    Preparing,
    Running,
    Succeeded,
    /// `message`: the engine's reason (a quota error, a non-zero exit).
    Failed(String),
    Cancelling,
    Cancelled,
    /// The engine's time limit ended it.
    Expired(String),
    /// The engine does not know the job (deleted, or another project).
    Missing,
    /// The engine's API stayed unreachable for its limit: the job's end is unknown.
    Lost(String),
}

/// Since when an engine's API has failed every call (this process's view), and how long
/// that may last before the executions it runs are given up.
pub struct Reachability {
    pub limit: Duration,
    failing_since: Mutex<Option<Instant>>,
}

impl Reachability {
    pub fn new(limit: Duration) -> Reachability {
        Reachability {
            limit,
            failing_since: Mutex::new(None),
        }
    }

    /// A call went through.
    pub fn reached(&self) {
        *self.failing_since.lock().expect("not poisoned") = None;
    }

    /// A call failed to reach the engine; returns how long it has been failing.
    pub fn failed(&self) -> Duration {
        self.failing_since
            .lock()
            .expect("not poisoned")
            .get_or_insert_with(Instant::now)
            .elapsed()
    }

    /// Calls have been failing (so one attempt each is enough until one goes through).
    pub fn is_failing(&self) -> bool {
        self.failing_since.lock().expect("not poisoned").is_some()
    }
}

/// The calls a remote engine offers.
pub trait JobApi: Send + Sync {
    /// The backend's name (`vertex`, `ray`).
    fn backend_name(&self) -> &'static str;

    /// Creates the execution's job running `command`, unless the engine already has one
    /// for it (a retry after a crash); returns the job's id.
    fn create_job<'a>(
        &'a self,
        execution: &'a Execution,
        command: &'a [String],
    ) -> BoxFuture<'a, Result<String>>;

    /// The phase of each execution's job (by job id), in as few calls as the engine allows.
    fn job_phases<'a>(
        &'a self,
        executions: &'a [Execution],
    ) -> BoxFuture<'a, Result<HashMap<String, Phase>>>;

    fn cancel_job<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<()>>;

    /// The engine's API reachability, for engines whose jobs die with it (a Ray head):
    /// unreachable for its limit, their running executions end FAILED. None: records
    /// stay as last seen while the engine cannot be reached (a cloud service).
    fn reachability(&self) -> Option<&Reachability> {
        None
    }

    /// The engine cancels a job that outlives its own time limit (Vertex AI's
    /// `scheduling.timeout`, set a minute after the run's), so a cancel nobody asked for,
    /// with a timeout set, is that limit.
    fn cancels_overdue_jobs(&self) -> bool {
        false
    }
}

/// The command a job runs: the product's own CLI on the staged notebook, writing the output
/// and the status beside it.
pub fn run_command(execution: &Execution) -> Vec<String> {
    let spec = &execution.spec;
    let out = &execution.output_notebook_uri;
    let mut command = vec![
        "notebook-executor".to_owned(),
        "run".to_owned(),
        staged_input_uri_of(out),
        out.clone(),
        "--status".to_owned(),
        status_uri_of(out),
        // The output's metadata names the notebook submitted, not its staged copy.
        "--recorded-input-path".to_owned(),
        spec.input_notebook.clone(),
        "--no-progress".to_owned(),
        // The notebook's output in the job's logs too.
        "--log-output".to_owned(),
    ];
    if !spec.kernel_name.is_empty() {
        command.extend(["-k".to_owned(), spec.kernel_name.clone()]);
    }
    if !spec.parameters.is_empty() {
        command.extend([
            "--parameters-json".to_owned(),
            serde_json::to_string(&spec.parameters).expect("parameters serialize"),
        ]);
    }
    if let Some(t) = spec.timeout_seconds {
        command.extend(["--timeout".to_owned(), t.to_string()]);
    }
    if let Some(t) = spec.cell_timeout_seconds {
        command.extend(["--cell-timeout".to_owned(), t.to_string()]);
    }
    if spec.allow_errors {
        command.push("--allow-errors".to_owned());
    }
    command
}

/// Starts jobs for the backend's queued executions and brings its active ones up to date.
pub async fn dispatch(store: &Store, api: &dyn JobApi) -> Result<()> {
    let backend = api.backend_name();
    requeue_stale_creations(store, backend).await?;
    while let Some(execution) = store.claim_execution(backend, DISPATCHER).await? {
        if !start(store, api, &execution).await? {
            break; // the engine is unavailable: the rest waits for the next dispatch
        }
    }
    let active = store.active_executions(backend).await?;
    follow(store, api, &active).await
}

/// Back to the queue: PREPARING executions whose job creation was cut short.
async fn requeue_stale_creations(store: &Store, backend: &str) -> Result<()> {
    let cutoff = time_text_ago(CREATION_STALE_AFTER);
    for e in store.active_executions(backend).await? {
        if e.state == State::Preparing && e.backend_job_id.is_empty() && e.update_time < cutoff {
            store
                .transition(
                    &e.id,
                    &[State::Preparing],
                    State::Queued,
                    Some("the job's creation was interrupted; trying again"),
                )
                .await?;
        }
    }
    Ok(())
}

/// Stages the notebook and creates the job of a claimed execution. False when the engine
/// could not be reached (the execution is queued again).
async fn start(store: &Store, api: &dyn JobApi, execution: &Execution) -> Result<bool> {
    let created = async {
        stage_input(store, execution).await?;
        api.create_job(execution, &run_command(execution)).await
    }
    .await;
    match created {
        Ok(job_id) => {
            store.set_backend_job_id(&execution.id, &job_id).await?;
            // Cancelled while the job was being created: cancel the job too.
            if store.state_of(&execution.id).await? == Some(State::Cancelling) {
                let mut with_job = execution.clone();
                with_job.backend_job_id = job_id;
                api.cancel_job(&with_job).await?;
            }
            Ok(true)
        }
        Err(Error::Resource {
            failure: Failure::Unavailable,
            message,
            ..
        }) => {
            store
                .transition(
                    &execution.id,
                    &[State::Preparing],
                    State::Queued,
                    Some(&format!(
                        "{} is unavailable, retrying: {message}",
                        api.backend_name()
                    )),
                )
                .await?;
            Ok(false)
        }
        Err(e) => {
            let from = [State::Preparing, State::Cancelling];
            store
                .transition(&execution.id, &from, State::Failed, Some(&e.to_string()))
                .await?;
            Ok(true)
        }
    }
}

/// Copies the submitted notebook where the job reads it: the snapshot taken at submission
/// (a scheduled run of a notebook in Cloud Storage reads it now).
async fn stage_input(store: &Store, execution: &Execution) -> Result<()> {
    let snapshot = Location::Local(store.staging_dir.join(format!("{}.ipynb", execution.id)));
    let source = if storage::exists(&snapshot).await? {
        snapshot
    } else {
        storage::parse_field("input_notebook", &execution.spec.input_notebook)?
    };
    let staged = storage::parse_field(
        "output_location",
        &staged_input_uri_of(&execution.output_notebook_uri),
    )?;
    storage::copy(&source, &staged).await
}

/// Applies the engine's phases to the executions that have a job; ends the ones cancelled
/// before their job existed.
pub async fn follow(store: &Store, api: &dyn JobApi, active: &[Execution]) -> Result<()> {
    for e in active.iter().filter(|e| e.backend_job_id.is_empty()) {
        if e.state == State::Cancelling {
            store
                .transition(
                    &e.id,
                    &[State::Cancelling],
                    State::Cancelled,
                    Some("cancelled before its job started"),
                )
                .await?;
        }
    }
    let with_jobs: Vec<Execution> = active
        .iter()
        .filter(|e| !e.backend_job_id.is_empty())
        .cloned()
        .collect();
    if with_jobs.is_empty() {
        return Ok(());
    }
    let phases = match (api.job_phases(&with_jobs).await, api.reachability()) {
        (Ok(phases), reach) => {
            if let Some(reach) = reach {
                reach.reached();
            }
            phases
        }
        (Err(e), Some(reach)) if is_unreachable(&e) => {
            let failing = reach.failed();
            if failing < reach.limit {
                return Ok(()); // as last seen; asked again at the next dispatch, wait or read
            }
            let lost = Phase::Lost(format!(
                "{} could not be reached for {} s, so the run's end is unknown ({e})",
                api_label(api.backend_name()),
                failing.as_secs()
            ));
            with_jobs
                .iter()
                .map(|e| (e.backend_job_id.clone(), lost.clone()))
                .collect()
        }
        (Err(e), _) => return Err(e),
    };
    for e in &with_jobs {
        let phase = phases
            .get(&e.backend_job_id)
            .cloned()
            .unwrap_or(Phase::Missing);
        apply(store, api, e, phase).await?;
    }
    Ok(())
}

fn is_unreachable(error: &Error) -> bool {
    matches!(
        error,
        Error::Resource {
            failure: Failure::Unavailable,
            ..
        }
    )
}

async fn apply(store: &Store, api: &dyn JobApi, e: &Execution, phase: Phase) -> Result<()> {
    match phase {
        Phase::Preparing | Phase::Cancelling => Ok(()),
        Phase::Running => {
            if e.state == State::Preparing {
                store
                    .transition(&e.id, &[State::Preparing], State::Running, None)
                    .await?;
            }
            // Written when it changed only: a waiter may follow a job ten times a second.
            if let Some(status) = read_status(e).await.filter(|s| s.progress != e.progress) {
                store.set_progress(&e.id, &status.progress).await?;
            }
            Ok(())
        }
        ended => finish(store, api, e, ended).await,
    }
}

async fn read_status(e: &Execution) -> Option<crate::model::RunStatus> {
    let location = Location::parse(&status_uri_of(&e.output_notebook_uri)).ok()?;
    status::read(&location).await.ok().flatten()
}

/// The record's end: the job's, told by the run's own status where it has one (the
/// notebook's error, or its timeout, says more than "exited with status 1").
async fn finish(store: &Store, api: &dyn JobApi, e: &Execution, phase: Phase) -> Result<()> {
    let status = read_status(e).await;
    if let Some(status) = &status {
        store.set_progress(&e.id, &status.progress).await?;
    }
    let ended_run = status.filter(|s| s.state.is_terminal());
    let none = FailureKind::None;
    let (state, message, failure_kind) = match (phase, ended_run) {
        (Phase::Succeeded, _) => (State::Succeeded, String::new(), none),
        (Phase::Expired(reason), _) => (State::Expired, reason, FailureKind::Timeout),
        // Cancelled without our asking while a time limit was set: the engine's limit (a
        // minute after the run's own) ended it.
        (Phase::Cancelled, None)
            if e.state != State::Cancelling
                && e.spec.timeout_seconds.is_some()
                && api.cancels_overdue_jobs() =>
        {
            (
                State::Expired,
                format!(
                    "the job ran past its time limit ({}s) and {} stopped it",
                    e.spec.timeout_seconds.unwrap_or_default(),
                    api_label(api.backend_name())
                ),
                FailureKind::Timeout,
            )
        }
        (Phase::Cancelled, _) if e.state != State::Cancelling => (
            State::Cancelled,
            format!(
                "the job was stopped in {}, not through notebook-executor; the partial output is kept",
                api_label(api.backend_name())
            ),
            none,
        ),
        (Phase::Cancelled, None) if e.progress.cells_total == 0 => (
            State::Cancelled,
            "cancelled before the run started".to_owned(),
            none,
        ),
        (Phase::Cancelled, _) => (
            State::Cancelled,
            "cancelled while running; the partial output is kept".to_owned(),
            none,
        ),
        (Phase::Failed(_) | Phase::Lost(_), Some(run)) if run.state != State::Succeeded => {
            (run.state, run.message, run.failure_kind)
        }
        // The run had ended well before the engine went away.
        (Phase::Lost(_), Some(run)) => (run.state, run.message, run.failure_kind),
        (Phase::Failed(reason) | Phase::Lost(reason), _) => (State::Failed, reason, none),
        (Phase::Missing, _) => (
            State::Failed,
            format!("the job {} no longer exists", e.backend_job_id),
            none,
        ),
        (Phase::Preparing | Phase::Running | Phase::Cancelling, _) => unreachable!("not an end"),
    };
    write_result_page(e, state, &message).await;
    let from = [State::Preparing, State::Running, State::Cancelling];
    store
        .end_as(&e.id, &from, state, Some(&message), failure_kind)
        .await?;
    Ok(())
}

/// An engine's name as users know it.
pub fn api_label(backend: &str) -> &str {
    match backend {
        "vertex" => "Vertex AI",
        "ray" => "Ray",
        other => other,
    }
}

/// Brings one execution up to date (a read of its record).
pub async fn refresh(store: &Store, api: &dyn JobApi, execution: &Execution) -> Result<()> {
    if !execution.state.is_active() {
        return Ok(());
    }
    follow(store, api, std::slice::from_ref(execution)).await
}

/// Cancels the job of an execution marked CANCELLING (one without a job yet ends at the
/// next dispatch, or when its creation returns).
pub async fn cancel(api: &dyn JobApi, execution: &Execution) -> Result<()> {
    if execution.backend_job_id.is_empty() {
        return Ok(());
    }
    api.cancel_job(execution).await
}
