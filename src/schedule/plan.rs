//! What a due schedule fires, given the time now: the missed-runs rule. Pure, so that the
//! rule is tested over any clock.

use super::cron::CronSchedule;
use crate::model::MissedRuns;
use jiff::{SignedDuration, Timestamp};

/// A slot is on time, not missed, when it is fired at most this long after its instant
/// (a scheduler busy or restarting for a moment has not missed anything).
pub const ON_TIME_WITHIN: SignedDuration = SignedDuration::from_secs(60);
/// `run_all` fires at most this many missed slots (the newest), in order.
pub const RUN_ALL_CAP: usize = 100;

#[derive(Debug, PartialEq)]
pub struct Fire {
    /// The slots to create executions for, oldest first.
    pub slots: Vec<Timestamp>,
    /// Slots that passed and were not fired (skipped by the rule or beyond the cap).
    pub skipped: bool,
    /// The schedule's next slot after this firing (None: the expression has no more).
    pub next_run_time: Option<Timestamp>,
}

/// `next_run_time` is the schedule's first unfired slot, due (`<= now`).
pub fn plan(
    cron: &CronSchedule,
    next_run_time: Timestamp,
    now: Timestamp,
    missed_runs: MissedRuns,
) -> Fire {
    let next = cron.next_after(now);
    let cap = match missed_runs {
        MissedRuns::RunAll => RUN_ALL_CAP,
        MissedRuns::Skip | MissedRuns::RunOnce => 1,
    };
    // Every due slot is in (next_run_time - 1s, now].
    let after = next_run_time
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap_or(next_run_time);
    let (mut slots, mut skipped) = cron.slots_between(after, now, cap);
    if missed_runs == MissedRuns::Skip {
        if let Some(latest) = slots.first().copied() {
            if now.duration_since(latest) > ON_TIME_WITHIN {
                slots.clear();
                skipped = true;
            }
        }
    }
    Fire {
        slots,
        skipped,
        next_run_time: next,
    }
}
