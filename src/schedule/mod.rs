//! Schedules: cron slots in a time zone, fired exactly once each into executions, by any
//! number of scheduler processes sharing a store.

pub mod cron;
pub mod model;
pub mod plan;
mod scheduler;

pub use cron::CronSchedule;
pub use scheduler::run_scheduler;

/// Store text for an instant (the store's one timestamp format, as `store::now_text`).
pub fn instant_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

#[cfg(test)]
mod tests;
