//! Schedule timing: cron slots in a time zone (DST rule) and the plan for missed slots.
//! Firing them (exactly once, by any number of processes) is the service's scheduler.

pub mod cron;
pub mod plan;

pub use cron::CronSchedule;

/// Store text for an instant (the store's one timestamp format, as `store::now_text`).
pub fn instant_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

#[cfg(test)]
mod tests;
