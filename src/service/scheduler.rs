//! The scheduler loop: sleeps until the earliest next slot (a timer), fires what is due,
//! and wakes at once when this process changes a schedule. Changes made by other
//! processes are seen by a light check of the earliest slot every `CHANGE_CHECK`.
//! Any number of processes may run it against one store: firing is exactly-once by the
//! store (see `Store::fire_due`).

use super::Service;
use crate::backend::local::warm::AHEAD_OF_SLOT;
use crate::backend::local::NAME as LOCAL;
use crate::error::Result;
use std::time::Duration;
use tokio::sync::watch;

const CHANGE_CHECK: Duration = Duration::from_secs(1);
/// How long before a slot its executions are built (snapshots included), so that at the
/// slot only the writes remain.
const PREPARE_AHEAD: Duration = Duration::from_millis(500);
/// Also the dispatcher's heartbeat check (dead runners' executions end FAILED).
const DISPATCH_EVERY: Duration = Duration::from_secs(2);

fn until(t: jiff::Timestamp) -> Duration {
    Duration::try_from(t.duration_since(crate::schedule::scheduler_now())).unwrap_or(Duration::ZERO)
}

/// The kernelspecs of the local runs a slot will fire ("" for those that name none).
async fn local_kernels_due_at(service: &Service, slot: jiff::Timestamp) -> Vec<String> {
    let slot = crate::schedule::instant_text(slot);
    service
        .store
        .schedules_due_at(&slot)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.execution_template.backend == LOCAL)
        .map(|s| s.execution_template.kernel_name)
        .collect()
}

/// Runs until `stop` turns true. Stopping is clean: a firing is one transaction.
pub async fn run_scheduler(
    service: Service,
    mut stop: watch::Receiver<bool>,
    log: bool,
) -> Result<()> {
    // The first pass dispatches and fills the warm pool at once.
    let mut last_dispatch = tokio::time::Instant::now() - DISPATCH_EVERY;
    let mut prepared: Option<super::PreparedFiring> = None;
    let mut warmed_for = None;
    loop {
        if *stop.borrow() {
            if let Some(unused) = prepared.take() {
                service.discard_prepared(unused);
            }
            // The warm pool was kept for this loop's process.
            service.retire().await;
            return Ok(());
        }
        // A read first: the firing transaction takes the store's write lock.
        let earliest = service
            .store
            .earliest_next_run_time()
            .await?
            .as_deref()
            .and_then(crate::schedule::parse_instant);
        let now = crate::schedule::scheduler_now();
        let fired = if earliest.is_some_and(|t| t <= now) {
            let ready = match prepared.take() {
                Some(p) if Some(p.slot) == earliest => Some(p),
                Some(stale) => {
                    service.discard_prepared(stale);
                    None
                }
                None => None,
            };
            service.fire_due_prepared(now, ready).await?
        } else {
            Vec::new()
        };
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
        let dispatch_due = last_dispatch.elapsed() >= DISPATCH_EVERY;
        if dispatch_due {
            // An engine that cannot be reached (a Ray head down, a network outage) must not
            // stop the scheduler: the next dispatch tries again.
            if let Err(e) = service.dispatch().await {
                if log {
                    eprintln!("{} dispatch: {e}", crate::store::now_text());
                }
            }
            last_dispatch = tokio::time::Instant::now();
        }
        // A slot that comes near gets its runs' kernels warmed now, not at the next dispatch.
        let slot_near = earliest.filter(|s| warmed_for != Some(*s) && until(*s) <= AHEAD_OF_SLOT);
        if dispatch_due || slot_near.is_some() {
            let due_soon = match slot_near {
                Some(slot) => {
                    warmed_for = Some(slot);
                    local_kernels_due_at(&service, slot).await
                }
                None => Vec::new(),
            };
            if let Err(e) = service.maintain(&due_soon).await {
                if log {
                    eprintln!("{} warm pool: {e}", crate::store::now_text());
                }
            }
        }
        let earliest = if fired.is_empty() {
            earliest
        } else {
            service
                .store
                .earliest_next_run_time()
                .await?
                .as_deref()
                .and_then(crate::schedule::parse_instant)
        };
        let until_due = earliest.map(until);
        if let (Some(slot), Some(wait)) = (earliest, until_due) {
            if wait <= PREPARE_AHEAD
                && wait > Duration::ZERO
                && prepared.as_ref().is_none_or(|p| p.slot != slot)
            {
                if let Some(stale) = prepared.replace(service.prepare_firing(slot).await?) {
                    service.discard_prepared(stale);
                }
            }
        }
        let until_due = earliest.map(until);
        let is_prepared = |slot| prepared.as_ref().is_some_and(|p| Some(p.slot) == slot);
        let nap = match until_due {
            // Wake in time to prepare the slot, then at the slot.
            Some(d) if d > PREPARE_AHEAD && !is_prepared(earliest) => {
                (d - PREPARE_AHEAD).min(CHANGE_CHECK)
            }
            Some(d) => d.min(CHANGE_CHECK),
            None => CHANGE_CHECK,
        };
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = service.schedules_changed.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
