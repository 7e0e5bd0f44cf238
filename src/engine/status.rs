//! The status a run reports beside its output (see `model::RunStatus`) when it runs inside a
//! remote job: cell progress at most every upload interval while it runs, and how it ended.

use super::RunObserver;
use crate::error::{Error, Result};
use crate::model::{FailureKind, Progress, RunStatus, State};
use crate::storage::{self, Location};
use crate::store::now_text;
use std::time::Duration;
use tokio::sync::watch;

/// Passes everything on to `inner` and keeps the progress for the status writer.
pub struct StatusObserver<'a> {
    inner: &'a mut dyn RunObserver,
    progress: watch::Sender<Progress>,
    done: i64,
}

impl<'a> StatusObserver<'a> {
    pub fn new(inner: &'a mut dyn RunObserver, progress: watch::Sender<Progress>) -> Self {
        StatusObserver {
            inner,
            progress,
            done: 0,
        }
    }
}

impl RunObserver for StatusObserver<'_> {
    fn cell_started(&mut self, index: usize, total: usize) {
        let done = self.done;
        self.progress.send_replace(Progress {
            cells_total: total as i64,
            cells_done: done,
            current_cell: Some(index as i64),
        });
        self.inner.cell_started(index, total);
    }
    fn cell_finished(&mut self, index: usize, total: usize) {
        self.done += 1;
        let done = self.done;
        self.progress.send_replace(Progress {
            cells_total: total as i64,
            cells_done: done,
            current_cell: None,
        });
        self.inner.cell_finished(index, total);
    }
    fn stream(&mut self, name: &str, text: &str) {
        self.inner.stream(name, text)
    }
    fn warning(&mut self, message: &str) {
        self.inner.warning(message)
    }
    fn tick(&mut self) {
        self.inner.tick()
    }
    fn finished(&mut self) {
        self.inner.finished()
    }
    fn succeeded(&mut self) {
        self.inner.succeeded()
    }
}

/// Writes the progress as it changes, at most every `every`, until the sender is dropped.
pub async fn write_progress(
    location: Location,
    mut progress: watch::Receiver<Progress>,
    every: Duration,
) {
    while progress.changed().await.is_ok() {
        let current = progress.borrow_and_update().clone();
        let status = RunStatus {
            state: State::Running,
            progress: current,
            message: String::new(),
            failure_kind: FailureKind::None,
            update_time: now_text(),
        };
        // A status that cannot be written now is written at the next change or at the end.
        let _ = write(&location, &status).await;
        tokio::time::sleep(every).await;
    }
}

/// How a run ended, as its record says it (local runs) and its status tells it (remote).
pub struct RunEnd {
    pub state: State,
    pub message: String,
    pub failure_kind: FailureKind,
}

pub fn end_of<T>(result: &Result<T>) -> RunEnd {
    let (state, message) = match result {
        Ok(_) => (State::Succeeded, String::new()),
        Err(Error::Cancelled) => (
            State::Cancelled,
            "cancelled while running; the partial output is kept".to_owned(),
        ),
        Err(Error::Timeout {
            run_timeout: true,
            message,
            ..
        }) => (State::Expired, message.clone()),
        Err(e) => (State::Failed, e.to_string()),
    };
    RunEnd {
        state,
        message,
        failure_kind: result
            .as_ref()
            .err()
            .map_or(FailureKind::None, Error::failure_kind),
    }
}

/// The final status: how the run ended.
pub async fn write_final<T>(
    location: &Location,
    progress: Progress,
    result: &Result<T>,
) -> Result<()> {
    let end = end_of(result);
    let status = RunStatus {
        state: end.state,
        progress,
        message: end.message,
        failure_kind: end.failure_kind,
        update_time: now_text(),
    };
    write(location, &status).await
}

async fn write(location: &Location, status: &RunStatus) -> Result<()> {
    let bytes = serde_json::to_vec(status).expect("a status serializes");
    storage::write(location, bytes).await
}

/// Reads a run's status; None when the run has written none (yet).
pub async fn read(location: &Location) -> Result<Option<RunStatus>> {
    match storage::read(location).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(Error::Resource {
            failure: crate::error::Failure::NotFound,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}
