//! The `local` backend: each execution runs in a runner process on this machine, started
//! detached so that it outlives the process that submitted it. Slots are reserved in the
//! store, so the concurrency limit holds across every process sharing the store.

use super::{check_offered, Backend, BoxFuture, Capabilities};
use crate::error::{Error, Result};
use crate::model::{Execution, ExecutionSpec};
use crate::store::Store;
use std::path::PathBuf;

pub const NAME: &str = "local";

pub struct LocalBackend {
    /// Runner processes at once (default: the number of cores).
    pub concurrency: i64,
    /// The interpreter that runs `python -m notebook_executor._runner`.
    pub python: PathBuf,
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
            if store.count_queued(NAME).await? == 0 {
                return Ok(());
            }
            if let Some(runner_id) = store.reserve_runner(self.concurrency).await? {
                if let Err(e) = self.spawn_runner(store, &runner_id) {
                    store.release_runner(&runner_id).await?;
                    return Err(e);
                }
            }
            Ok(())
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

impl LocalBackend {
    fn spawn_runner(&self, store: &Store, runner_id: &str) -> Result<()> {
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
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = spawn_in_new_session(&mut command).map_err(|e| Error::io(&self.python, e))?;
        // Reap it in the background so it never lingers as a zombie of a long-lived parent.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(())
    }
}
