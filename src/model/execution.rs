//! Executions as users see them (SPEC's fields and states).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Queued,
    Preparing,
    Running,
    Succeeded,
    Failed,
    Cancelling,
    Cancelled,
    Expired,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Queued,
        State::Preparing,
        State::Running,
        State::Succeeded,
        State::Failed,
        State::Cancelling,
        State::Cancelled,
        State::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "QUEUED",
            State::Preparing => "PREPARING",
            State::Running => "RUNNING",
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::Cancelling => "CANCELLING",
            State::Cancelled => "CANCELLED",
            State::Expired => "EXPIRED",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Succeeded | State::Failed | State::Cancelled | State::Expired
        )
    }

    /// States in which a runner owns the execution.
    pub fn is_active(self) -> bool {
        matches!(self, State::Preparing | State::Running | State::Cancelling)
    }
}

/// The submission fields of an execution (also a schedule's template).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecutionSpec {
    pub display_name: String,
    pub input_notebook: String,
    pub parameters: Map<String, Value>,
    pub kernel_name: String,
    pub environment: String,
    pub backend: String,
    pub machine_type: String,
    pub accelerator_type: String,
    pub accelerator_count: i64,
    pub region: String,
    pub output_location: String,
    pub service_account: String,
    pub network: String,
    pub labels: Map<String, Value>,
    pub timeout_seconds: Option<f64>,
    pub cell_timeout_seconds: Option<f64>,
    pub allow_errors: bool,
    pub idempotency_token: Option<String>,
    pub schedule_id: Option<String>,
    pub scheduled_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub cells_total: i64,
    pub cells_done: i64,
    pub current_cell: Option<i64>,
}

/// What kind of failure ended a run (FAILED or EXPIRED), as the CLI's exit codes and the
/// Python exception classes tell them apart; `None` for any other end, and for a failure
/// of the platform rather than of the run (a job that could not start, a runner that died).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    #[default]
    #[serde(rename = "")]
    None,
    /// A cell raised.
    CellError,
    /// The kernel died, or its messages could not be read.
    KernelDied,
    /// The kernelspec is not there (any more) where the run looked.
    KernelNotFound,
    /// A cell's or the run's time limit.
    Timeout,
}

impl FailureKind {
    pub const ALL: [FailureKind; 5] = [
        FailureKind::None,
        FailureKind::CellError,
        FailureKind::KernelDied,
        FailureKind::KernelNotFound,
        FailureKind::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::None => "",
            FailureKind::CellError => "cell_error",
            FailureKind::KernelDied => "kernel_died",
            FailureKind::KernelNotFound => "kernel_not_found",
            FailureKind::Timeout => "timeout",
        }
    }

    /// A stored value; an unknown one (a newer version's) reads as `None`.
    pub fn parse(text: &str) -> FailureKind {
        FailureKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    #[serde(flatten)]
    pub spec: ExecutionSpec,
    pub state: State,
    pub state_message: String,
    #[serde(default)]
    pub failure_kind: FailureKind,
    pub create_time: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub update_time: String,
    pub progress: Progress,
    pub output_notebook_uri: String,
    pub output_html_uri: String,
    pub backend_job_id: String,
}

#[cfg(test)]
mod tests {
    use super::FailureKind;

    #[test]
    fn failure_kinds_read_back_as_stored_and_as_serialized() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::parse(kind.as_str()), kind);
            // The store keeps `as_str`; JSON (REST, Python, a job's status) carries serde's.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(FailureKind::parse("a_newer_kind"), FailureKind::None);
    }
}
