//! The warm pool: runner processes that start a kernel before any work is queued and wait
//! with it, so that a submission's first cell runs without a kernel start. A warm kernel
//! serves one run and is then shut down (every run gets a kernel nothing ran in before);
//! its runner warms another while it is still wanted.
//!
//! The pool is kept by a long-lived process (the server extension's or `serve`'s
//! scheduler loop calls `LocalBackend::maintain`), which holds a keeper lock while it does.
//! Its runners leave when the lock is free (the keeper stopped keeping, or died), or when no
//! local execution was submitted for the idle time: the pool then stays empty until the
//! next submission, or until a schedule's slot comes near.

use crate::error::{Error, Result};
use crate::owner_lock::{self, OwnerLock};
use crate::store::{time_text_ago, Store};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The kernelspec warmed when the settings name none (jupyter_client's default).
pub const DEFAULT_KERNEL: &str = "python3";
pub const DEFAULT_IDLE: Duration = Duration::from_secs(1800);
/// How long before a schedule's slot its kernels are warmed (a kernel starts in about
/// half a second on an idle machine; a busy one takes longer).
pub const AHEAD_OF_SLOT: Duration = Duration::from_secs(10);

/// The local backend's settings (`{"local": {...}}` of the backends' settings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// Warm kernels kept per kernelspec (default: one of `python3`; `{}` or 0 turns the
    /// pool off).
    pub warm_kernels: Option<BTreeMap<String, i64>>,
    /// Seconds without a local submission after which the pool empties (default 1800).
    pub warm_idle_seconds: Option<f64>,
}

/// The pool's settings, checked.
#[derive(Debug, Clone)]
pub struct WarmPool {
    /// (kernelspec, kernels kept), sizes above 0 only.
    pub kernels: Vec<(String, i64)>,
    pub idle: Duration,
}

impl WarmPool {
    pub fn from_config(config: &LocalConfig) -> Result<WarmPool> {
        let sizes = config
            .warm_kernels
            .clone()
            .unwrap_or_else(|| BTreeMap::from([(DEFAULT_KERNEL.to_owned(), 1)]));
        let mut kernels = Vec::new();
        for (name, size) in sizes {
            if name.is_empty() {
                return Err(Error::invalid("warm_kernels", "a kernelspec name is empty"));
            }
            if !(0..=64).contains(&size) {
                return Err(Error::invalid(
                    "warm_kernels",
                    format!("{name}: give 0 to 64 kernels, not {size}"),
                ));
            }
            if size > 0 {
                kernels.push((name, size));
            }
        }
        let idle = match config.warm_idle_seconds {
            None => DEFAULT_IDLE,
            Some(s) if s.is_finite() && s > 0.0 && s <= 365.0 * 86400.0 => {
                Duration::from_secs_f64(s)
            }
            Some(s) => {
                return Err(Error::invalid(
                    "warm_idle_seconds",
                    format!("give more than 0 and at most a year in seconds, not {s}"),
                ))
            }
        };
        Ok(WarmPool { kernels, idle })
    }

    pub fn size_of(&self, kernel: &str) -> i64 {
        self.kernels
            .iter()
            .find(|(k, _)| k == kernel)
            .map_or(0, |(_, n)| *n)
    }
}

/// No local execution was submitted for `idle`: the pool is not wanted.
pub async fn unused_for(store: &Store, idle: Duration) -> Result<bool> {
    let cutoff = time_text_ago(idle);
    Ok(store
        .latest_create_time(super::NAME)
        .await?
        .is_none_or(|latest| latest < cutoff))
}

/// The folder of the pool's sockets and keeper locks (per user: sockets and locks of
/// others are none of ours).
fn runtime_dir() -> PathBuf {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("notebook-executor-{uid}"))
}

fn create_runtime_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = runtime_dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Held by the process that keeps a pool, for as long as it keeps it: an exclusive `flock`
/// on a file of its own, which the system frees when the process dies. Its runners look at
/// it (a pid could be reused, and a server inside a longer-lived process stops keeping
/// while its process lives on).
pub struct KeeperLock {
    lock: OwnerLock,
    pub path: PathBuf,
}

impl KeeperLock {
    /// Takes a new lock, and removes the files of keepers that died without removing theirs
    /// (killed). The file gets its name once locked, so that a lock file free under its
    /// name is always a dead keeper's.
    pub fn acquire() -> Result<KeeperLock> {
        let dir = create_runtime_dir()?;
        let id = uuid::Uuid::new_v4().simple();
        let fresh = dir.join(format!(".keeper-{id}.new"));
        let path = dir.join(format!("{KEEPER_PREFIX}{id}{KEEPER_SUFFIX}"));
        let locked = OwnerLock::create(&fresh).and_then(|lock| {
            std::fs::rename(&fresh, &path)?;
            Ok(lock)
        });
        let lock = locked.map_err(|e| {
            let _ = std::fs::remove_file(&fresh);
            Error::io(&path, e)
        })?;
        remove_dead_keepers(&dir);
        Ok(KeeperLock { lock, path })
    }
}

const KEEPER_PREFIX: &str = "keeper-";
const KEEPER_SUFFIX: &str = ".lock";

/// Removes the lock files nobody holds (taking each lock first, so that a live keeper's
/// file is never removed).
fn remove_dead_keepers(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(KEEPER_PREFIX)
            && name.ends_with(KEEPER_SUFFIX)
            && OwnerLock::take_if_free(&entry.path()).is_some()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for KeeperLock {
    fn drop(&mut self) {
        // Removed, then let go: a runner that opened the file before its removal sees the
        // lock free, and one that opens it after finds no file; both let go.
        let _ = std::fs::remove_file(&self.path);
        self.lock.release();
    }
}

/// Whether a keeper still holds the lock at `path` (a removed file: it let go).
pub fn keeper_holds(path: &std::path::Path) -> bool {
    owner_lock::is_held(path)
}

/// Where a warm runner listens for "work is queued" (a datagram socket: a wake-up sent
/// to a runner that is gone reaches no process). In the temporary directory: a socket
/// path is limited to about 100 bytes.
pub fn wake_path(runner_id: &str) -> PathBuf {
    runtime_dir().join(format!("{runner_id}.sock"))
}

/// Wakes the warm runner `runner_id` (no error when it is gone: it then takes nothing).
pub fn wake(runner_id: &str) -> bool {
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return false;
    };
    socket.send_to(b"w", wake_path(runner_id)).is_ok()
}

/// The socket a warm runner waits on; its file goes with it.
pub struct WakeSocket {
    socket: tokio::net::UnixDatagram,
    path: PathBuf,
}

impl WakeSocket {
    pub fn bind(runner_id: &str) -> Result<WakeSocket> {
        create_runtime_dir()?;
        let path = wake_path(runner_id);
        let _ = std::fs::remove_file(&path);
        let socket = tokio::net::UnixDatagram::bind(&path).map_err(|e| Error::io(&path, e))?;
        Ok(WakeSocket { socket, path })
    }

    /// Returns when woken.
    pub async fn woken(&self) {
        let mut buf = [0u8; 16];
        let _ = self.socket.recv(&mut buf).await;
    }
}

impl Drop for WakeSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What the pool holds now, for `GET config` and the README: per kernelspec, the
/// kernels kept, the runners waiting, and the memory they hold (resident, the runner
/// processes with their kernels; Linux's /proc).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PoolStatus {
    pub kernel: String,
    pub size: i64,
    pub waiting: usize,
    pub memory_bytes: u64,
}

pub async fn status(store: &Store, pool: &WarmPool) -> Result<Vec<PoolStatus>> {
    let waiting = store.warm_runners().await?;
    Ok(pool
        .kernels
        .iter()
        .map(|(kernel, size)| {
            let mine: Vec<_> = waiting.iter().filter(|r| &r.kernel == kernel).collect();
            PoolStatus {
                kernel: kernel.clone(),
                size: *size,
                waiting: mine.len(),
                memory_bytes: mine.iter().map(|r| tree_rss(r.pid)).sum(),
            }
        })
        .collect())
}

/// Resident memory of `pid` and of its children (a runner and its kernel), in bytes.
fn tree_rss(pid: i64) -> u64 {
    if pid <= 0 {
        return 0;
    }
    let children: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
        .filter(|child| parent_of(*child) == Some(pid))
        .map(rss)
        .sum();
    rss(pid) + children
}

fn parent_of(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn rss(pid: i64) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let pool = WarmPool::from_config(&LocalConfig::default()).unwrap();
        assert_eq!(pool.kernels, vec![(DEFAULT_KERNEL.to_owned(), 1)]);
        assert_eq!(pool.idle, DEFAULT_IDLE);
        let off = LocalConfig {
            warm_kernels: Some(BTreeMap::from([("python3".into(), 0)])),
            ..Default::default()
        };
        assert!(WarmPool::from_config(&off).unwrap().kernels.is_empty());
        for (kernels, idle) in [
            (Some(BTreeMap::from([("python3".into(), -1)])), None),
            (Some(BTreeMap::from([("".into(), 1)])), None),
            (None, Some(0.0)),
            (None, Some(f64::NAN)),
            (None, Some(1e300)),
        ] {
            let config = LocalConfig {
                warm_kernels: kernels,
                warm_idle_seconds: idle,
            };
            assert!(matches!(
                WarmPool::from_config(&config),
                Err(Error::Invalid { .. })
            ));
        }
    }

    #[test]
    fn a_keeper_lock_is_seen_while_held_and_free_once_dropped() {
        let lock = KeeperLock::acquire().unwrap();
        let path = lock.path.clone();
        assert!(keeper_holds(&path));
        assert!(keeper_holds(&path), "looking does not take it");
        drop(lock);
        assert!(!keeper_holds(&path));
        assert!(!path.exists());
    }

    #[test]
    fn a_dead_keepers_file_is_removed_by_the_next_keeper_and_a_live_ones_kept() {
        let live = KeeperLock::acquire().unwrap();
        // A keeper killed while it held its lock: its file stays, unlocked.
        let dead = runtime_dir().join(format!(
            "{KEEPER_PREFIX}dead-{}{KEEPER_SUFFIX}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&dead, b"").unwrap();
        let next = KeeperLock::acquire().unwrap();
        assert!(!dead.exists());
        assert!(live.path.exists() && keeper_holds(&live.path));
        assert!(next.path.exists() && keeper_holds(&next.path));
    }

    #[test]
    fn memory_of_this_process_is_read() {
        assert!(tree_rss(std::process::id() as i64) > 1 << 20);
        assert_eq!(tree_rss(0), 0);
    }

    #[tokio::test]
    async fn a_wake_reaches_the_socket_and_a_gone_one_is_no_error() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let socket = WakeSocket::bind(&id).unwrap();
        assert!(wake(&id));
        tokio::time::timeout(Duration::from_secs(5), socket.woken())
            .await
            .unwrap();
        drop(socket);
        assert!(!wake_path(&id).exists());
        assert!(!wake(&id));
    }
}
