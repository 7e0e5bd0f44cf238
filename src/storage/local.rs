//! Local files: whole writes by a temporary file in the same folder renamed over the
//! target, so that a reader (or a crash) never leaves half a file.

use super::{error, Entry, Location};
use crate::error::{Failure, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

fn failure_of(e: &std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::NotFound => Failure::NotFound,
        std::io::ErrorKind::AlreadyExists => Failure::AlreadyExists,
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            Failure::PermissionDenied
        }
        _ => Failure::Other,
    }
}

fn io_error(path: &Path, e: std::io::Error) -> crate::error::Error {
    let message = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => e.to_string(),
    };
    error(&Location::Local(path.to_owned()), failure_of(&e), message)
}

pub async fn read(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|e| io_error(path, e))
}

pub async fn write(path: &Path, bytes: Vec<u8>) -> Result<()> {
    let path = path.to_owned();
    blocking(move || write_with(&path, |w| w.write_all(&bytes))).await
}

pub async fn create_new(path: &Path, bytes: Vec<u8>) -> Result<bool> {
    let path = path.to_owned();
    blocking(move || {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
        }
        // create_new: two writers at once never take the same name.
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_error(&path, e)),
        };
        let written = file.write_all(&bytes).and_then(|()| file.sync_data());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            return Err(io_error(&path, e));
        }
        Ok(true)
    })
    .await
}

pub async fn copy(from: &Path, to: &Path) -> Result<()> {
    let (from, to) = (from.to_owned(), to.to_owned());
    blocking(move || {
        let mut source = std::fs::File::open(&from).map_err(|e| io_error(&from, e))?;
        write_with(&to, |w| std::io::copy(&mut source, w).map(|_| ()))
    })
    .await
}

pub async fn delete(path: &Path) -> Result<bool> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path, e)),
    }
}

pub async fn list(folder: &Path) -> Result<Vec<Entry>> {
    let mut entries = match tokio::fs::read_dir(folder).await {
        Ok(entries) => entries,
        Err(e) => return Err(io_error(folder, e)),
    };
    let mut out = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| io_error(folder, e))?
    {
        let Ok(meta) = entry.metadata().await else {
            continue; // removed meanwhile
        };
        if meta.is_file() {
            out.push(Entry {
                location: Location::Local(entry.path()),
                size: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.location.to_string().cmp(&b.location.to_string()));
    Ok(out)
}

pub async fn check_writable(folder: &Path) -> Result<()> {
    let folder = folder.to_owned();
    blocking(move || {
        std::fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
        let probe = folder.join(format!(
            ".notebook-executor-probe-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&probe, b"").map_err(|e| {
            error(
                &Location::Local(folder.clone()),
                failure_of(&e),
                format!("not writable: {e}"),
            )
        })?;
        let _ = std::fs::remove_file(probe);
        Ok(())
    })
    .await
}

/// A temporary local file that is removed when dropped (uploads are staged through it).
pub fn spool_file() -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix("notebook-executor-")
        .tempfile()
        .map_err(|e| io_error(&std::env::temp_dir(), e))
}

/// Writes a file whole: `write` fills a temporary file in the same folder, which is
/// flushed to disk and renamed over `path`.
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = folder.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let file = std::fs::File::create(&temp)?;
        let mut buffered = std::io::BufWriter::with_capacity(256 * 1024, &file);
        write(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        file.sync_data()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io_error(path, e)
    })
}

/// File work off the async workers (a big file would hold one for a while).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .expect("file work does not panic")
}
