//! What the remote backends share: an execution becomes one job of a remote engine (a
//! Vertex AI custom job, a Ray job) whose process runs `notebook-executor run` on a copy of
//! the notebook staged beside the output. The job never reaches the store; the record
//! follows the job: its state from the engine's API, its progress and the notebook's error
//! from the status object the run writes beside its output (`model::RunStatus`).
//!
//! Creation survives a crash between the engine's answer and the record's update: a
//! PREPARING execution without a job id for `CREATION_STALE_AFTER` goes back to the queue,
//! and creating looks for the execution's job first.

use super::BoxFuture;
use crate::engine::status;
use crate::error::{Error, Failure, Result};
use crate::model::{staged_input_uri_of, status_uri_of, Execution, State};
use crate::render::write_result_page;
use crate::storage::{self, Location};
use crate::store::{time_text_ago, Store};
use std::collections::HashMap;
use std::time::Duration;

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
    let phases = api.job_phases(&with_jobs).await?;
    for e in &with_jobs {
        let phase = phases
            .get(&e.backend_job_id)
            .cloned()
            .unwrap_or(Phase::Missing);
        apply(store, e, phase).await?;
    }
    Ok(())
}

async fn apply(store: &Store, e: &Execution, phase: Phase) -> Result<()> {
    match phase {
        Phase::Preparing | Phase::Cancelling => Ok(()),
        Phase::Running => {
            store
                .transition(&e.id, &[State::Preparing], State::Running, None)
                .await?;
            if let Some(status) = read_status(e).await {
                store.set_progress(&e.id, &status.progress).await?;
            }
            Ok(())
        }
        ended => finish(store, e, ended).await,
    }
}

async fn read_status(e: &Execution) -> Option<crate::model::RunStatus> {
    let location = Location::parse(&status_uri_of(&e.output_notebook_uri)).ok()?;
    status::read(&location).await.ok().flatten()
}

/// The record's end: the job's, told by the run's own status where it has one (the
/// notebook's error, or its timeout, says more than "exited with status 1").
async fn finish(store: &Store, e: &Execution, phase: Phase) -> Result<()> {
    let status = read_status(e).await;
    if let Some(status) = &status {
        store.set_progress(&e.id, &status.progress).await?;
    }
    let ended_run = status.filter(|s| s.state.is_terminal());
    let (state, message) = match (phase, ended_run) {
        (Phase::Succeeded, _) => (State::Succeeded, String::new()),
        (Phase::Expired(reason), _) => (State::Expired, reason),
        // Cancelled without our asking while a time limit was set: the engine's limit (a
        // minute after the run's own) ended it.
        (Phase::Cancelled, None)
            if e.state != State::Cancelling && e.spec.timeout_seconds.is_some() =>
        {
            (
                State::Expired,
                format!(
                    "the job ran past its time limit ({}s) and {} stopped it",
                    e.spec.timeout_seconds.unwrap_or_default(),
                    api_name(e)
                ),
            )
        }
        (Phase::Cancelled, _) => (
            State::Cancelled,
            "cancelled while running; the partial output is kept".to_owned(),
        ),
        (Phase::Failed(_), Some(run)) if run.state != State::Succeeded => (run.state, run.message),
        (Phase::Failed(reason), _) => (State::Failed, reason),
        (Phase::Missing, _) => (
            State::Failed,
            format!("the job {} no longer exists", e.backend_job_id),
        ),
        (Phase::Preparing | Phase::Running | Phase::Cancelling, _) => unreachable!("not an end"),
    };
    write_result_page(e, state, &message).await;
    let from = [State::Preparing, State::Running, State::Cancelling];
    store
        .transition(&e.id, &from, state, Some(&message))
        .await?;
    Ok(())
}

fn api_name(e: &Execution) -> &str {
    match e.spec.backend.as_str() {
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
