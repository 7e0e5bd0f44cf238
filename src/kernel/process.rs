//! The kernel process: launched in its own process group from a kernelspec, interrupted
//! and killed as a group, and always killed when dropped.

use super::spec::KernelSpec;
use crate::error::{Error, Result};
use crate::owner_lock::OwnerLock;
use jupyter_protocol::ConnectionInfo;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::{Child, Command};

pub struct KernelProcess {
    child: Child,
    pgid: i32,
    /// Private folder holding the connection file and the kernel's own stdout/stderr.
    runtime_dir: tempfile::TempDir,
    /// Says the folder is in use (a killed runner's folder is found by its free lock and
    /// removed by the next runner).
    _owner: OwnerLock,
    exited: Option<std::process::ExitStatus>,
}

impl KernelProcess {
    /// The connection file the kernel was given (ipykernel rewrites it with the ports it
    /// bound when it was given none).
    pub fn connection_file(&self) -> PathBuf {
        self.runtime_dir.path().join("kernel.json")
    }

    pub fn launch(spec: &KernelSpec, info: &ConnectionInfo, cwd: &Path) -> Result<KernelProcess> {
        if spec.argv.is_empty() {
            return Err(Error::KernelDied {
                cell_index: None,
                message: format!("kernelspec '{}' has an empty argv", spec.name),
            });
        }
        remove_dead_runtime_dirs();
        let runtime_dir = tempfile::Builder::new()
            .prefix(RUNTIME_DIR_PREFIX)
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let owner_path = runtime_dir.path().join(OWNER_LOCK);
        let owner = OwnerLock::create(&owner_path).map_err(|e| Error::io(&owner_path, e))?;
        let connection_file = runtime_dir.path().join("kernel.json");
        let info_json = serde_json::to_vec(info).expect("connection info serializes");
        std::fs::write(&connection_file, info_json).map_err(|e| Error::io(&connection_file, e))?;
        let log_path = runtime_dir.path().join("kernel.log");
        let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
        let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;

        let resource_dir = spec
            .resource_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let args: Vec<String> = spec
            .argv
            .iter()
            .map(|a| {
                a.replace("{connection_file}", &connection_file.display().to_string())
                    .replace("{resource_dir}", &resource_dir)
            })
            .collect();
        let args = with_history_in_memory(spec, args);
        let mut command = Command::new(&args[0]);
        command
            .args(&args[1..])
            .current_dir(cwd)
            // What a shell started there would say (a warm kernel is told the same).
            .env("PWD", cwd)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Own process group: interrupts and kills reach the kernel's children too.
            .process_group(0)
            .kill_on_drop(true)
            // ipykernel exits by itself when this process dies (even by SIGKILL).
            .env("JPY_PARENT_PID", std::process::id().to_string());
        if let Some(prefix) = &spec.env_prefix {
            // Kernelspecs often say a bare `python`: it must be the environment's.
            let mut path = vec![prefix.join("bin")];
            path.extend(
                std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            command.env("PATH", std::env::join_paths(path).unwrap_or_default());
            let mut jupyter_path = vec![prefix.join("share").join("jupyter")];
            jupyter_path.extend(
                std::env::var_os("JUPYTER_PATH")
                    .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            command.env(
                "JUPYTER_PATH",
                std::env::join_paths(jupyter_path).unwrap_or_default(),
            );
        }
        command.envs(&spec.env);
        let child = command.spawn().map_err(|e| Error::KernelDied {
            cell_index: None,
            message: format!("cannot start kernel '{}' ({}): {e}", spec.name, args[0]),
        })?;
        let pgid = child.id().map(|id| id as i32).unwrap_or(0);
        Ok(KernelProcess {
            child,
            pgid,
            runtime_dir,
            _owner: owner,
            exited: None,
        })
    }

    /// Waits until the kernel process exits (cancel-safe).
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let status = match self.child.wait().await {
            Ok(status) => status,
            Err(_) => std::future::pending().await,
        };
        self.exited = Some(status);
        status
    }

    /// The connection info once the kernel has written back the ports it bound (it was
    /// given none): it writes its file after binding every socket.
    pub async fn wait_for_ports(
        &mut self,
        given: &ConnectionInfo,
        deadline: tokio::time::Instant,
    ) -> Result<ConnectionInfo> {
        let file = self.connection_file();
        loop {
            let written = std::fs::read(&file)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<ConnectionInfo>(&bytes).ok())
                .filter(|info| info.shell_port != 0 && info.key == given.key);
            if let Some(info) = written {
                return Ok(info);
            }
            if let Some(status) = self.has_exited() {
                return Err(Error::KernelDied {
                    cell_index: None,
                    message: format!(
                        "kernel exited during startup with {}: {}",
                        describe_exit(status),
                        self.log_tail(2000)
                    ),
                });
            }
            if tokio::time::Instant::now() > deadline {
                self.kill().await;
                return Err(Error::KernelDied {
                    cell_index: None,
                    message: "the kernel did not bind its ports within the startup timeout".into(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub fn has_exited(&mut self) -> Option<std::process::ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    pub fn signal_group(&self, signal: i32) {
        if self.pgid > 0 {
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe {
                libc::killpg(self.pgid, signal);
            }
        }
    }

    /// Kills the whole process group and reaps the kernel.
    pub async fn kill(&mut self) {
        self.signal_group(libc::SIGKILL);
        let _ = self.child.kill().await;
        self.exited = self.child.try_wait().ok().flatten().or(self.exited);
    }

    /// The last lines the kernel process wrote to its own stdout/stderr.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        let path: PathBuf = self.runtime_dir.path().join("kernel.log");
        let bytes = std::fs::read(path).unwrap_or_default();
        let start = bytes.len().saturating_sub(max_bytes);
        String::from_utf8_lossy(&bytes[start..])
            .lines()
            // ipykernel's start-up notice about TCP on loopback says nothing about a failure.
            .filter(|line| !line.contains("Kernel is running over TCP without encryption"))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }
}

const RUNTIME_DIR_PREFIX: &str = "notebook-executor-kernel-";
const OWNER_LOCK: &str = "owner.lock";

/// Once per process, before its first kernel: the folders of kernels whose runner was
/// killed (a drop removes the folder otherwise).
fn remove_dead_runtime_dirs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        crate::owner_lock::remove_dead_folders(
            &std::env::temp_dir(),
            RUNTIME_DIR_PREFIX,
            OWNER_LOCK,
            std::time::Duration::from_secs(600),
        );
    });
}

impl Drop for KernelProcess {
    fn drop(&mut self) {
        // Also after the kernel exited: its children in the group must not outlive it.
        self.signal_group(libc::SIGKILL);
    }
}

/// IPython writes every executed cell into `~/.ipython/profile_default/history.sqlite`,
/// and kernels running at once contend on that file. As nbclient, IPython kernels keep
/// their history in memory, unless the kernelspec sets the history file itself.
fn with_history_in_memory(spec: &KernelSpec, mut args: Vec<String>) -> Vec<String> {
    const OPTION: &str = "--HistoryManager.hist_file";
    if spec.is_ipykernel() && !args.iter().any(|a| a.starts_with(OPTION)) {
        args.push(format!("{OPTION}=:memory:"));
    }
    args
}

/// Describes how a process ended, for messages.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!(
            "signal {sig}{}",
            signal_name(sig)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        _ => "an unknown status".into(),
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGKILL => "SIGKILL: killed, e.g. out of memory",
        libc::SIGSEGV => "SIGSEGV: segmentation fault",
        libc::SIGABRT => "SIGABRT: aborted",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::InterruptMode;
    use std::collections::BTreeMap;

    fn spec(argv: &[&str]) -> KernelSpec {
        KernelSpec {
            name: "k".into(),
            resource_dir: None,
            argv: argv.iter().map(|a| a.to_string()).collect(),
            display_name: String::new(),
            language: String::new(),
            env: BTreeMap::new(),
            interrupt_mode: InterruptMode::Signal,
            env_prefix: None,
        }
    }

    fn args(spec: &KernelSpec) -> Vec<String> {
        with_history_in_memory(spec, spec.argv.clone())
    }

    #[test]
    fn ipython_kernels_keep_history_in_memory() {
        let ipykernel = spec(&[
            "python",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]);
        assert_eq!(
            args(&ipykernel).last().map(String::as_str),
            Some("--HistoryManager.hist_file=:memory:")
        );
        let own_file = spec(&[
            "python",
            "-m",
            "ipykernel",
            "--HistoryManager.hist_file=/tmp/h.sqlite",
        ]);
        assert_eq!(args(&own_file), own_file.argv);
        let other = spec(&["julia", "-i", "kernel.jl", "{connection_file}"]);
        assert_eq!(args(&other), other.argv);
    }
}
