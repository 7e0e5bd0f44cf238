//! Schedules as users see them (SPEC's fields).

use super::execution::{ExecutionSpec, State};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleState {
    #[default]
    Enabled,
    Paused,
}

impl ScheduleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Enabled => "ENABLED",
            ScheduleState::Paused => "PAUSED",
        }
    }

    pub fn parse(text: &str) -> Option<ScheduleState> {
        [ScheduleState::Enabled, ScheduleState::Paused]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// What to do about slots that passed while no scheduler was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MissedRuns {
    /// None of them (a slot fired within a minute of its time is not missed).
    Skip,
    /// One run, for the latest missed slot.
    #[default]
    RunOnce,
    /// Each, in order, up to a cap (the newest ones).
    RunAll,
}

impl MissedRuns {
    pub fn as_str(self) -> &'static str {
        match self {
            MissedRuns::Skip => "skip",
            MissedRuns::RunOnce => "run_once",
            MissedRuns::RunAll => "run_all",
        }
    }

    pub fn parse(text: &str) -> Option<MissedRuns> {
        [MissedRuns::Skip, MissedRuns::RunOnce, MissedRuns::RunAll]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastExecution {
    pub id: String,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub display_name: String,
    pub cron_schedule: String,
    pub time_zone: String,
    pub state: ScheduleState,
    pub missed_runs: MissedRuns,
    pub execution_template: ExecutionSpec,
    pub create_time: String,
    pub update_time: String,
    /// The next slot that will fire; None while paused.
    pub next_run_time: Option<String>,
    pub last_execution: Option<LastExecution>,
}

/// The fields a user sets: on create, all (defaults for the missing); on update, the
/// given ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleFields {
    pub display_name: Option<String>,
    pub cron_schedule: Option<String>,
    pub time_zone: Option<String>,
    pub missed_runs: Option<MissedRuns>,
    pub execution_template: Option<ExecutionSpec>,
}

/// The fields an update sets: the given ones; `execution_template` holds the template's
/// fields to change (merged into it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleChanges {
    pub display_name: Option<String>,
    pub cron_schedule: Option<String>,
    pub time_zone: Option<String>,
    pub missed_runs: Option<MissedRuns>,
    pub execution_template: Option<serde_json::Map<String, serde_json::Value>>,
}
