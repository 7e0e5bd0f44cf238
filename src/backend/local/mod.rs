//! The `local` backend: each execution runs in a runner process on this machine, started
//! detached so that it outlives the process that submitted it. Slots are reserved in the
//! store, so the concurrency limit holds across every process sharing the store. Runners
//! of the warm pool (see `warm`) wait with a kernel started; queued work wakes them first.

pub mod warm;

use super::{check_offered, Backend, BoxFuture, Capabilities};
use crate::error::{Error, Result};
use crate::kernel::KernelSearch;
use crate::model::{Execution, ExecutionSpec};
use crate::store::Store;
use std::path::PathBuf;
use std::time::Duration;
use warm::WarmPool;

pub const NAME: &str = "local";

pub struct LocalBackend {
    /// Runner processes at once (default: the number of cores).
    pub concurrency: i64,
    /// The interpreter that runs `python -m notebook_executor._runner`.
    pub python: PathBuf,
    pub warm: WarmPool,
    /// Where the pool's kernelspecs are found (only ipykernel's are warmed).
    pub search: KernelSearch,
    /// When this process began: its start counts as use of the pool.
    pub started: tokio::time::Instant,
    /// Held while this process keeps the pool (taken at the first upkeep).
    pub keeper: std::sync::Mutex<Option<warm::KeeperLock>>,
}

impl Backend for LocalBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            name: NAME,
            machine_types: vec![],
            machine_type_descriptions: Default::default(),
            accelerator_types: vec![],
            regions: vec![],
            output_schemes: vec!["", "gs"],
            default_output_location: None,
            container_images: vec![],
            default_region: None,
            remote: false,
        }
    }

    fn validate(&self, spec: &mut ExecutionSpec) -> Result<()> {
        let offered = self.capabilities();
        check_offered(
            "machine_type",
            &spec.machine_type,
            &offered.machine_types,
            NAME,
        )?;
        check_offered(
            "accelerator_type",
            &spec.accelerator_type,
            &offered.accelerator_types,
            NAME,
        )?;
        if spec.accelerator_count != 0 {
            return Err(Error::invalid(
                "accelerator_count",
                "the local backend has no accelerators",
            ));
        }
        check_offered("region", &spec.region, &offered.regions, NAME)
    }

    fn dispatch<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            store.recover_runners(NAME).await?;
            let queued = store.count_queued(NAME).await?;
            if queued == 0 {
                return Ok(());
            }
            // Warm runners first: each takes the oldest queued execution when woken.
            let mut taken = 0;
            for runner in store.warm_runners().await? {
                if taken >= queued {
                    break;
                }
                // One still starting (pid 0) looks for work as soon as it is up.
                if runner.pid == 0 || warm::wake(&runner.id) {
                    taken += 1;
                }
            }
            if taken >= queued {
                return Ok(());
            }
            if let Some(runner_id) = store.reserve_runner(self.concurrency, "").await? {
                if let Err(e) = self.spawn_runner(store, &runner_id, None) {
                    store.release_runner(&runner_id).await?;
                    return Err(e);
                }
            }
            Ok(())
        })
    }

    /// Keeps the warm pool: as many waiting runners per kernelspec as the settings say
    /// (or as the executions due soon need), within the concurrency limit; none when the
    /// pool was not used for its idle time.
    fn maintain<'a>(
        &'a self,
        store: &'a Store,
        due_soon: &'a [String],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if self.warm.kernels.is_empty() {
                return Ok(());
            }
            let keeper = {
                let mut keeper = self.keeper.lock().expect("not poisoned");
                if keeper.is_none() {
                    *keeper = Some(warm::KeeperLock::acquire()?);
                }
                keeper.as_ref().expect("taken").path.clone()
            };
            let idle = self.started.elapsed() > self.warm.idle
                && warm::unused_for(store, self.warm.idle).await?;
            let waiting = store.warm_runners().await?;
            for (index, (kernel, size)) in self.warm.kernels.iter().enumerate() {
                // A run that names no kernel counts for the first kernelspec of the pool.
                let due = due_soon
                    .iter()
                    .filter(|k| *k == kernel || (k.is_empty() && index == 0))
                    .count() as i64;
                let wanted = if idle { due } else { due.max(*size) };
                let have = waiting.iter().filter(|r| &r.kernel == kernel).count() as i64;
                if wanted <= have || !self.can_warm(kernel) {
                    continue;
                }
                for _ in have..wanted {
                    let Some(runner_id) = store.reserve_runner(self.concurrency, kernel).await?
                    else {
                        return Ok(()); // every slot is taken
                    };
                    // Runners warmed for a slot stay for it even while the pool is idle.
                    let stay = if due > 0 {
                        3 * warm::AHEAD_OF_SLOT
                    } else {
                        Duration::ZERO
                    };
                    let warm = Some(WarmSpawn {
                        kernel,
                        size: (*size).max(due),
                        stay,
                        keeper: &keeper,
                    });
                    if let Err(e) = self.spawn_runner(store, &runner_id, warm) {
                        store.release_runner(&runner_id).await?;
                        return Err(e);
                    }
                }
            }
            Ok(())
        })
    }

    /// The pool's runners leave (with their kernels) at once; another process that keeps
    /// a pool on this store fills it again at its next upkeep.
    fn retire<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // The lock freed first: a runner busy now does not warm again after its run.
            let kept = self.keeper.lock().expect("not poisoned").take();
            if kept.is_none() {
                return Ok(());
            }
            drop(kept);
            for id in store.retire_warm_runners().await? {
                warm::wake(&id);
            }
            Ok(())
        })
    }

    fn warm_pool<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<serde_json::Value>> {
        Box::pin(async move {
            let kernels = warm::status(store, &self.warm).await?;
            Ok(serde_json::json!({
                "kernels": kernels,
                "idle_seconds": self.warm.idle.as_secs_f64(),
            }))
        })
    }

    /// A record that says PREPARING or RUNNING is true only while its runner lives: a read
    /// checks (same host, pid and heartbeat), so a dead runner's run never shows as running.
    fn refresh<'a>(
        &'a self,
        store: &'a Store,
        _execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { store.recover_runners(NAME).await.map(drop) })
    }

    /// The runner watches its execution's record and stops the kernel itself.
    fn request_cancel<'a>(
        &'a self,
        _store: &'a Store,
        _execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Starts `command` in its own session (`setsid`): no terminal's hang-up or Ctrl-C, and no
/// process group of the submitting process, reaches it; the run goes on when the submitter
/// exits or is interrupted.
fn spawn_in_new_session(
    command: &mut std::process::Command,
) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe, as a pre_exec hook requires.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// What a warm runner is started with.
struct WarmSpawn<'a> {
    kernel: &'a str,
    /// The pool's size for `kernel`.
    size: i64,
    /// How long it stays even if the pool is idle.
    stay: Duration,
    keeper: &'a std::path::Path,
}

impl LocalBackend {
    /// Only kernels whose per-run set-up is exact are warmed: ipykernel's (see
    /// `Kernel::adopt`).
    fn can_warm(&self, kernel: &str) -> bool {
        self.search
            .find(kernel)
            .is_ok_and(|spec| spec.binds_its_own_ports())
    }

    /// `warm`: for a runner of the warm pool (the runner warms another kernel after its
    /// run while fewer than the size wait).
    fn spawn_runner(
        &self,
        store: &Store,
        runner_id: &str,
        warm: Option<WarmSpawn<'_>>,
    ) -> Result<()> {
        let log_path = store.staging_dir.with_file_name("runner.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
        let mut command = std::process::Command::new(&self.python);
        command
            .args([
                "-m",
                "notebook_executor._runner",
                "--store",
                &store.url,
                "--runner-id",
                runner_id,
            ])
            .args(["--concurrency", &self.concurrency.to_string()])
            .stdin(std::process::Stdio::null());
        if let Some(warm) = warm {
            command
                .args(["--warm", warm.kernel, "--pool-size", &warm.size.to_string()])
                .args(["--stay", &warm.stay.as_secs_f64().to_string()])
                .args(["--idle", &self.warm.idle.as_secs_f64().to_string()])
                .arg("--keeper")
                .arg(warm.keeper);
        }
        command.stdout(log).stderr(log_err);
        let child = spawn_in_new_session(&mut command).map_err(|e| Error::io(&self.python, e))?;
        // Reap it in the background so it never lingers as a zombie of a long-lived parent.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(())
    }
}
