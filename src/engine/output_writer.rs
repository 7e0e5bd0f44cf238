//! Where a run's notebook goes as it runs. A local file is rewritten after every cell (it
//! costs little and a crash loses nothing); an object in Cloud Storage at most every
//! `every` and when the run ends, so a long run makes few uploads and a crash loses at
//! most that much.

use crate::error::Result;
use crate::notebook::Notebook;
use crate::storage::{self, Location};
use std::time::Duration;
use tokio::time::Instant;

const DEFAULT_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct OutputWriter {
    target: Option<Location>,
    every: Duration,
    last_upload: Option<Instant>,
}

impl OutputWriter {
    pub fn new(target: Option<Location>, every: Option<Duration>) -> OutputWriter {
        OutputWriter {
            target,
            every: every.unwrap_or_else(upload_interval),
            last_upload: None,
        }
    }

    /// Writes the notebook now if it is local, if it is the last write (`last`), or if the
    /// last upload is older than the interval.
    pub async fn write(&mut self, notebook: &Notebook, last: bool) -> Result<()> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        let due = target.is_local()
            || last
            || self.last_upload.is_none_or(|at| at.elapsed() >= self.every);
        if due {
            storage::write_notebook(target, notebook).await?;
            self.last_upload = Some(Instant::now());
        }
        Ok(())
    }
}

/// `NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL` (seconds), else 5 s.
pub fn upload_interval() -> Duration {
    std::env::var("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
        .unwrap_or(DEFAULT_EVERY)
}
