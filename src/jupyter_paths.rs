//! Jupyter's own folders, found as jupyter_core finds them.

use std::path::PathBuf;

/// jupyter_core's `jupyter_data_dir()`: `JUPYTER_DATA_DIR`, else the platform's (None
/// without a home).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    if cfg!(target_os = "macos") {
        return Some(home.join("Library").join("Jupyter"));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local").join("share"));
    Some(base.join("jupyter"))
}
