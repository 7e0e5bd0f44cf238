//! The scheduler loop: sleeps until the earliest next slot (a timer), fires what is due,
//! and wakes at once when this process changes a schedule. Changes made by other
//! processes are seen by a light check of the earliest slot every `CHANGE_CHECK`.
//! Any number of processes may run it against one store: firing is exactly-once by the
//! store (see `Store::fire_due`).

use crate::error::Result;
use crate::service::Service;
use std::time::Duration;
use tokio::sync::watch;

const CHANGE_CHECK: Duration = Duration::from_secs(1);
/// Also the dispatcher's heartbeat check (dead runners' executions end FAILED).
const DISPATCH_EVERY: Duration = Duration::from_secs(2);

/// Runs until `stop` turns true. Stopping is clean: a firing is one transaction.
pub async fn run_scheduler(service: Service, mut stop: watch::Receiver<bool>, log: bool) -> Result<()> {
    let mut last_dispatch = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        // A read first: the firing transaction takes the store's write lock.
        let earliest = service.store.earliest_next_run_time().await?.as_deref().and_then(crate::schedule::parse_instant);
        let now = jiff::Timestamp::now();
        let fired = if earliest.is_some_and(|t| t <= now) { service.fire_due(now).await? } else { Vec::new() };
        if log {
            for e in &fired {
                eprintln!(
                    "{} fired schedule {} slot {} -> execution {} ({})",
                    crate::store::now_text(),
                    e.spec.schedule_id.as_deref().unwrap_or(""),
                    e.spec.scheduled_time.as_deref().unwrap_or(""),
                    e.id,
                    e.state.as_str()
                );
            }
        }
        if last_dispatch.elapsed() >= DISPATCH_EVERY {
            service.dispatch().await?;
            last_dispatch = tokio::time::Instant::now();
        }
        let earliest = if fired.is_empty() { earliest } else { service.store.earliest_next_run_time().await?.as_deref().and_then(crate::schedule::parse_instant) };
        let until_due = earliest.map(|t| Duration::try_from(t.duration_since(jiff::Timestamp::now())).unwrap_or(Duration::ZERO));
        let nap = until_due.map_or(CHANGE_CHECK, |d| d.min(CHANGE_CHECK));
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = service.schedules_changed.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
