//! Files that belong to a live process: an exclusive `flock` held for as long as the owner
//! keeps it, which the system frees when the process dies (even by SIGKILL). A file whose
//! lock is free was left by a dead owner, and the next process that looks removes it.
//! (File descriptors are opened close-on-exec: a child the owner starts holds nothing.)

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// An exclusive lock on one file, held until dropped.
#[derive(Debug)]
pub struct OwnerLock {
    file: File,
}

impl OwnerLock {
    /// Creates the file and locks it (a new file: nobody else holds it).
    pub fn create(path: &Path) -> std::io::Result<OwnerLock> {
        let file = File::create(path)?;
        flock(&file, libc::LOCK_EX)?;
        Ok(OwnerLock { file })
    }

    /// The lock of a file whose owner is gone (None: it is held, or cannot be opened).
    pub fn take_if_free(path: &Path) -> Option<OwnerLock> {
        let file = File::open(path).ok()?;
        flock(&file, libc::LOCK_EX | libc::LOCK_NB).ok()?;
        Some(OwnerLock { file })
    }

    /// Lets go before the file descriptor closes.
    pub fn release(&self) {
        let _ = flock(&self.file, libc::LOCK_UN);
    }
}

/// Whether an owner holds the lock of `path` (false when it is gone or was never there).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    flock(&file, libc::LOCK_SH | libc::LOCK_NB).is_err()
}

/// Removes the folders named `{prefix}*` in `dir` whose owner died: their `lock_name` file's
/// lock is free, or they have none and are older than `grace` (their owner died between
/// making the folder and locking in it, or predates the lock). Returns how many went.
pub fn remove_dead_folders(dir: &Path, prefix: &str, lock_name: &str, grace: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let folder = entry.path();
        let lock = folder.join(lock_name);
        let dead = if lock.exists() {
            OwnerLock::take_if_free(&lock).is_some()
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > grace))
        };
        if dead
            && entry.file_type().is_ok_and(|t| t.is_dir())
            && std::fs::remove_dir_all(&folder).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a file descriptor we own; a lock we get goes with `file`.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_seen_while_held_and_taken_once_its_owner_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owner.lock");
        let lock = OwnerLock::create(&path).unwrap();
        assert!(is_held(&path));
        assert!(OwnerLock::take_if_free(&path).is_none());
        drop(lock);
        assert!(!is_held(&path));
        assert!(OwnerLock::take_if_free(&path).is_some());
        assert!(!is_held(&dir.path().join("none.lock")));
    }

    #[test]
    fn only_the_folders_of_dead_owners_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = |name: &str| {
            let f = dir.path().join(name);
            std::fs::create_dir(&f).unwrap();
            std::fs::write(f.join("kernel.log"), b"x").unwrap();
            f
        };
        let live = folder("k-live");
        let _held = OwnerLock::create(&live.join("owner.lock")).unwrap();
        let dead = folder("k-dead");
        drop(OwnerLock::create(&dead.join("owner.lock")).unwrap());
        let young = folder("k-young-unlocked");
        let other = folder("other-dead");
        drop(OwnerLock::create(&other.join("owner.lock")).unwrap());
        let removed = remove_dead_folders(dir.path(), "k-", "owner.lock", Duration::from_secs(600));
        assert_eq!(removed, 1);
        assert!(live.exists() && young.exists() && other.exists() && !dead.exists());
        // Without a lock and older than the grace: gone.
        assert_eq!(
            remove_dead_folders(dir.path(), "k-", "owner.lock", Duration::ZERO),
            1
        );
        assert!(!young.exists() && live.exists());
    }
}
