//! A runner process: takes queued executions one at a time (FIFO) and runs each on the
//! engine, reporting state and per-cell progress to the store, watching for cancel, and
//! keeping its slot alive with a heartbeat. It exits when no work is left.

use super::{output_of, parameters_of, Service};
use crate::backend::local::warm::{self, WakeSocket};
use crate::backend::local::NAME as LOCAL;
use crate::engine::{self, RunObserver, RunOptions};
use crate::error::Result;
use crate::kernel::Kernel;
use crate::model::{Execution, Progress, State};
use crate::render::write_result_page;
use crate::storage::Location;
use crate::timeouts;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
const CANCEL_POLL_EVERY: Duration = Duration::from_millis(250);
/// How often a waiting warm runner looks for work by itself (a wake-up is the fast path;
/// this covers one sent from another host, or lost).
const WARM_POLL_EVERY: Duration = Duration::from_secs(1);

/// A runner of the warm pool: it starts a kernel of `kernel` and waits with it.
pub struct WarmOptions {
    pub kernel: String,
    /// The pool's size for `kernel`: after its run the runner warms another kernel while
    /// fewer runners wait with one.
    pub pool_size: i64,
    /// No local submission for this long: the runner leaves.
    pub idle: Duration,
    /// It stays this long whatever the idle time says (warmed for a schedule's slot).
    pub stay: Duration,
    /// The keeper's lock (see `warm::KeeperLock`): once free, the runner leaves.
    pub keeper: std::path::PathBuf,
}

/// `concurrency`: the local backend's limit, for taking a new slot after this one.
pub async fn run_runner(
    service: Service,
    runner_id: String,
    concurrency: i64,
    warm: Option<WarmOptions>,
) -> Result<()> {
    let store = service.store.clone();
    let pid = std::process::id();
    // Listening before the pid is published: from then on dispatchers may wake us.
    let wake = warm
        .as_ref()
        .map(|_| WakeSocket::bind(&runner_id))
        .transpose()?;
    if !store.runner_heartbeat(&runner_id, pid).await? {
        return Ok(()); // the slot was reclaimed before we started
    }
    // The slot beating: a runner that takes a new slot (below) moves its heartbeat there,
    // or the new slot would look dead after RUNNER_STALE_AFTER and its run be failed.
    let (beating_tx, beating) = watch::channel(runner_id.clone());
    let heartbeat = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                let id = beating.borrow().clone();
                let _ = store.runner_heartbeat(&id, pid).await;
            }
        })
    };
    let mut runner_id = runner_id;
    let mut warming = warm
        .zip(wake)
        .map(|(options, wake)| Warming::new(options, wake));
    let result = async {
        loop {
            if let Some(warming) = warming.as_mut() {
                match warming.wait_for_work(&service, &runner_id).await? {
                    Some((execution, kernel)) => run_one(&service, execution, kernel).await?,
                    // Not wanted any more: leave as a runner whose work is done.
                    None => {}
                }
            }
            while let Some(execution) = store.claim_execution(LOCAL, &runner_id).await? {
                run_one(&service, execution, None).await?;
            }
            if let Some(w) = warming.as_ref() {
                if w.still_wanted(&store, &runner_id).await? {
                    continue;
                }
            }
            warming = None;
            // Leave the slot, then look once more: a submission that saw no free slot
            // while we were finishing must not wait for the next one.
            store.release_runner(&runner_id).await?;
            if store.count_queued(LOCAL).await? == 0 {
                return Ok(());
            }
            match store.reserve_runner(concurrency, "").await? {
                Some(id) => {
                    runner_id = id;
                    store.runner_heartbeat(&runner_id, pid).await?;
                    let _ = beating_tx.send(runner_id.clone());
                }
                None => return Ok(()),
            }
        }
    }
    .await;
    heartbeat.abort();
    let _ = store.release_runner(&runner_id).await;
    result
}

/// A warm runner's waiting: its kernel (started ahead, in an empty folder of its own) and
/// what tells it to take work or to leave.
struct Warming {
    options: WarmOptions,
    wake: WakeSocket,
    /// The folder warm kernels start in: empty, so that nothing in it shadows a module
    /// while the kernel imports (the run's folder replaces it; see `Kernel::adopt`).
    folder: tempfile::TempDir,
    since: tokio::time::Instant,
    /// Whether the last wait ended because the pool was not wanted.
    retired: bool,
    /// Not waited yet.
    fresh: bool,
}

impl Warming {
    fn new(options: WarmOptions, wake: WakeSocket) -> Warming {
        Warming {
            options,
            wake,
            folder: tempfile::Builder::new()
                .prefix("notebook-executor-warm-")
                .tempdir()
                .expect("a temporary folder"),
            since: tokio::time::Instant::now(),
            retired: false,
            fresh: true,
        }
    }

    /// Starts a kernel and waits with it until an execution is claimed (returned with the
    /// kernel, if it started) or the pool is not wanted (None): retired by its keeper (the
    /// store says it waits no more), or see `still_wanted`.
    async fn wait_for_work(
        &mut self,
        service: &Service,
        runner_id: &str,
    ) -> Result<Option<(Execution, Option<Kernel>)>> {
        let store = &service.store;
        let spec = service.search.find(&self.options.kernel)?;
        // The reservation listed a new runner as warm already: were it retired meanwhile
        // (its keeper stopped at once), marking it again would keep it.
        if !std::mem::replace(&mut self.fresh, false) {
            store
                .set_runner_warm(runner_id, &self.options.kernel)
                .await?;
        }
        let mut kernel: Option<Kernel> = None;
        let mut starting = Some(Box::pin(Kernel::start(&spec, self.folder.path())));
        loop {
            // A read first: a claim takes the store's write lock, and an idle runner looks
            // every second.
            let claimed = if store.count_queued(LOCAL).await? > 0 {
                store.claim_execution(LOCAL, runner_id).await?
            } else {
                None
            };
            if let Some(execution) = claimed {
                store.set_runner_warm(runner_id, "").await?;
                let kernel = match (kernel, starting) {
                    (Some(kernel), _) => Some(kernel),
                    // Started before the work came: only the rest of its start is waited.
                    (None, Some(start)) => start.await.ok(),
                    (None, None) => None,
                };
                return Ok(Some((execution, kernel)));
            }
            if !store.runner_is_warm(runner_id).await?
                || !self.still_wanted(store, runner_id).await?
            {
                store.set_runner_warm(runner_id, "").await?;
                self.retired = true;
                if let Some(kernel) = kernel {
                    kernel.shutdown().await;
                }
                return Ok(None);
            }
            if let Some(k) = kernel.as_mut() {
                if !k.is_alive() {
                    // Killed from outside: warm another.
                    kernel = None;
                    starting = Some(Box::pin(Kernel::start(&spec, self.folder.path())));
                }
            }
            tokio::select! {
                started = async { starting.as_mut().expect("guarded").await }, if starting.is_some() => {
                    starting = None;
                    match started {
                        Ok(k) => kernel = Some(k),
                        // A kernel that cannot start warm cannot start cold either: the
                        // run's own start reports why.
                        Err(_) => {}
                    }
                }
                _ = self.wake.woken() => {}
                _ = tokio::time::sleep(WARM_POLL_EVERY) => {}
            }
        }
    }

    /// Wanted while the process that keeps the pool keeps it and local work was submitted
    /// within the idle time (or this runner is younger than it), and while fewer than
    /// the pool's size wait (counting only others than `runner_id`).
    async fn still_wanted(&self, store: &crate::store::Store, runner_id: &str) -> Result<bool> {
        if self.retired || !warm::keeper_holds(&self.options.keeper) {
            return Ok(false);
        }
        let age = self.since.elapsed();
        if age > self.options.stay
            && age > self.options.idle
            && warm::unused_for(store, self.options.idle).await?
        {
            return Ok(false);
        }
        let waiting = store
            .warm_runners()
            .await?
            .iter()
            .filter(|r| r.kernel == self.options.kernel && r.id != runner_id)
            .count() as i64;
        Ok(waiting < self.options.pool_size)
    }
}

enum Update {
    Started {
        total: usize,
        index: usize,
    },
    Finished {
        total: usize,
        done: usize,
    },
    /// Recorded at once: the kernel's shutdown need not delay the result. With the
    /// run's warnings as the state message.
    Succeeded(String),
}

struct StoreObserver {
    updates: mpsc::UnboundedSender<Update>,
    done: usize,
    warnings: Vec<String>,
}

impl RunObserver for StoreObserver {
    fn cell_started(&mut self, index: usize, total: usize) {
        let _ = self.updates.send(Update::Started { total, index });
    }
    fn cell_finished(&mut self, _index: usize, total: usize) {
        self.done += 1;
        let _ = self.updates.send(Update::Finished {
            total,
            done: self.done,
        });
    }
    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }
    fn succeeded(&mut self) {
        let _ = self
            .updates
            .send(Update::Succeeded(self.warnings.join("\n")));
    }
}

/// Runs one claimed execution, on `warm` (a kernel started ahead) when it is of the
/// notebook's kernelspec.
async fn run_one(service: &Service, execution: Execution, warm: Option<Kernel>) -> Result<()> {
    let store = &service.store;
    let id = execution.id.clone();
    let spec = &execution.spec;
    let original = Location::parse(&spec.input_notebook).ok();
    // The kernel runs in the notebook's folder, as papermill; a notebook in Cloud Storage
    // has none here (the runner's own directory then).
    let cwd = original
        .as_ref()
        .and_then(Location::as_local)
        .and_then(|p| p.parent())
        .filter(|p| p.is_dir())
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_owned()));
    // The snapshot made at submission; a scheduled run of a notebook in Cloud Storage reads
    // it now (a schedule runs the notebook as it is when its slot comes).
    let staged = service.staged_input(&id);
    let input = match original {
        Some(original) if !original.is_local() && !staged.exists() => original,
        _ => Location::Local(staged),
    };
    let options = RunOptions {
        input,
        recorded_input_path: Some(spec.input_notebook.clone()),
        output: Some(output_of(&execution)?),
        parameters: parameters_of(spec),
        kernel_name: Some(spec.kernel_name.clone()).filter(|k| !k.is_empty()),
        cwd,
        timeout: timeouts::timeout("timeout_seconds", spec.timeout_seconds)?,
        cell_timeout: timeouts::timeout("cell_timeout_seconds", spec.cell_timeout_seconds)?,
        allow_errors: spec.allow_errors,
        search: service.search.clone(),
        ..Default::default()
    };

    let (cancel_tx, cancel_rx) = watch::channel(false);
    let watcher = {
        let store = store.clone();
        let id = id.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CANCEL_POLL_EVERY).await;
                if matches!(
                    store.state_of(&id).await,
                    Ok(Some(State::Cancelling)) | Ok(None)
                ) {
                    let _ = cancel_tx.send(true);
                    return;
                }
            }
        })
    };
    let result_of = execution.clone();
    let (updates_tx, mut updates_rx) = mpsc::unbounded_channel();
    let reporter = {
        let store = store.clone();
        let id = id.clone();
        let result_of = result_of.clone();
        tokio::spawn(async move {
            let mut progress = Progress::default();
            let mut running = false;
            while let Some(update) = updates_rx.recv().await {
                match update {
                    Update::Started { total, index } => {
                        progress.cells_total = total as i64;
                        progress.current_cell = Some(index as i64);
                        if !running {
                            running = store
                                .transition(&id, &[State::Preparing], State::Running, None)
                                .await
                                .unwrap_or(false);
                        }
                    }
                    Update::Finished { total, done } => {
                        progress.cells_total = total as i64;
                        progress.cells_done = done as i64;
                        progress.current_cell = None;
                    }
                    Update::Succeeded(message) => {
                        let _ = store.set_progress(&id, &progress).await;
                        write_result_page(&result_of, State::Succeeded, &message).await;
                        let from = [State::Preparing, State::Running, State::Cancelling];
                        let _ = store
                            .transition(&id, &from, State::Succeeded, Some(&message))
                            .await;
                        continue;
                    }
                }
                // Only the latest state matters: skip updates that queued up meanwhile.
                if updates_rx.is_empty() {
                    let _ = store.set_progress(&id, &progress).await;
                }
            }
        })
    };
    let mut observer = StoreObserver {
        updates: updates_tx,
        done: 0,
        warnings: Vec::new(),
    };
    let result = engine::execute_on(options, warm, &mut observer, cancel_rx).await;
    let warnings = std::mem::take(&mut observer.warnings);
    drop(observer);
    let _ = reporter.await;
    watcher.abort();

    let engine::status::RunEnd {
        state,
        message,
        failure_kind,
    } = engine::status::end_of(&result);
    // The run's warnings stay in the record, after what ended it.
    let message = std::iter::once(message)
        .chain(warnings)
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if result.is_err() {
        // The partial output, with the error where the run stopped.
        write_result_page(&result_of, state, &message).await;
    }
    let from = [State::Preparing, State::Running, State::Cancelling];
    store
        .end_as(&id, &from, state, Some(&message), failure_kind)
        .await?;
    Ok(())
}
