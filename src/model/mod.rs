//! The records users see (SPEC's fields and states): executions, their submission fields,
//! schedules. Everything else of the core stands on these; they import nothing of the crate.

mod execution;
mod schedule;
mod status;

pub use execution::{Execution, ExecutionSpec, FailureKind, Progress, State};
pub use schedule::{
    LastExecution, MissedRuns, Schedule, ScheduleChanges, ScheduleFields, ScheduleState,
};
pub use status::{staged_input_uri_of, status_uri_of, RunStatus};

/// The backend of a submission that names none.
pub const DEFAULT_BACKEND: &str = "local";
