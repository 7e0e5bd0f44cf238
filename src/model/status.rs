//! What a run inside a remote job reports beside its output notebook, so that the backend
//! following the job can show cell progress and say why a run failed: the job's own state
//! tells only that its process exited.

use super::execution::{FailureKind, Progress, State};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    /// RUNNING while the notebook runs, then how the run ended (SUCCEEDED, FAILED,
    /// EXPIRED for the run's timeout, CANCELLED).
    pub state: State,
    pub progress: Progress,
    /// Why the run failed (the cell's error), or its warnings.
    #[serde(default)]
    pub message: String,
    /// What kind of failure ended it (a status written by an older version has none).
    #[serde(default)]
    pub failure_kind: FailureKind,
    pub update_time: String,
}

/// Where a remote run's status goes: beside its output notebook (`run.ipynb` ->
/// `run.status.json`).
pub fn status_uri_of(output_notebook_uri: &str) -> String {
    format!("{}.status.json", stem_of(output_notebook_uri))
}

/// Where the notebook a remote job runs is staged: beside its output (`run.ipynb` ->
/// `run.input.ipynb`), where the job can read it.
pub fn staged_input_uri_of(output_notebook_uri: &str) -> String {
    format!("{}.input.ipynb", stem_of(output_notebook_uri))
}

fn stem_of(uri: &str) -> &str {
    uri.strip_suffix(".ipynb").unwrap_or(uri)
}
