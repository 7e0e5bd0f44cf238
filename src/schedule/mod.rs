//! Schedule timing: cron slots in a time zone (DST rule) and the plan for missed slots.
//! Firing them (exactly once, by any number of processes) is the service's scheduler.

pub mod cron;
pub mod plan;

pub use cron::CronSchedule;

/// The scheduler's clock: the system's, moved by `NOTEBOOK_EXECUTOR_CLOCK_OFFSET_SECONDS`
/// (read once; for tests of what happens ahead of a slot, without waiting for a minute to
/// turn). Records keep the system's time.
pub fn scheduler_now() -> jiff::Timestamp {
    static OFFSET: std::sync::OnceLock<jiff::SignedDuration> = std::sync::OnceLock::new();
    let offset = OFFSET.get_or_init(|| {
        std::env::var("NOTEBOOK_EXECUTOR_CLOCK_OFFSET_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .and_then(|s| jiff::SignedDuration::try_from_secs_f64(s).ok())
            .unwrap_or(jiff::SignedDuration::ZERO)
    });
    jiff::Timestamp::now()
        .checked_add(*offset)
        .unwrap_or_else(|_| jiff::Timestamp::now())
}

/// Store text for an instant (the store's one timestamp format, as `store::now_text`).
pub fn instant_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

#[cfg(test)]
mod tests;
