//! Kernelspec discovery, as jupyter_client does it: `kernels/NAME/kernel.json` under the
//! Jupyter data path (JUPYTER_PATH, the user data dir and the environment's
//! `share/jupyter` in jupyter_core's order, then the system dirs), plus the native
//! `python3` kernel of the running interpreter when ipykernel is installed.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// jupyter_client's `NATIVE_KERNEL_NAME`: the interpreter's own ipykernel.
pub const NATIVE_KERNEL: &str = "python3";

#[derive(Debug, Clone)]
pub struct KernelSpec {
    pub name: String,
    /// The kernelspec's folder (`{resource_dir}`); None for the native kernel.
    pub resource_dir: Option<PathBuf>,
    pub argv: Vec<String>,
    pub display_name: String,
    pub language: String,
    pub env: BTreeMap<String, String>,
    pub interrupt_mode: InterruptMode,
    /// The environment (prefix) the kernel belongs to: its `bin` goes first on PATH.
    pub env_prefix: Option<PathBuf>,
}

impl KernelSpec {
    /// An IPython kernel (`python -m ipykernel_launcher`, `-m ipykernel`, or its script),
    /// which takes IPython's command-line options.
    pub fn is_ipykernel(&self) -> bool {
        self.argv.iter().any(|a| {
            let file = Path::new(a)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or(a);
            matches!(
                file,
                "ipykernel_launcher" | "ipykernel" | "ipykernel_launcher.py"
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptMode {
    Signal,
    Message,
}

#[derive(Deserialize)]
struct KernelJson {
    argv: Vec<String>,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    interrupt_mode: Option<String>,
}

/// Where to look for kernelspecs.
#[derive(Debug, Clone, Default)]
pub struct KernelSearch {
    /// The Jupyter data dirs, highest priority first.
    pub data_dirs: Vec<PathBuf>,
    /// The interpreter for the native `python3` kernel, when ipykernel is importable there.
    pub native_python: Option<PathBuf>,
    /// The Python environment we run in (sys.prefix).
    pub env_prefix: Option<PathBuf>,
}

impl KernelSpec {
    /// ipykernel binds ports of its own choosing when its connection file gives none, and
    /// writes them back: its start has no port race.
    pub fn binds_its_own_ports(&self) -> bool {
        self.argv.iter().any(|a| {
            a == "ipykernel_launcher" || a == "ipykernel" || a.ends_with("ipykernel_launcher.py")
        })
    }
}

impl KernelSearch {
    /// The search path of jupyter_core's `jupyter_path()` for a process whose Python
    /// environment is `env_prefix`; `prefer_env` puts the environment before the user dir
    /// (jupyter_core does so inside a virtualenv or conda env).
    pub fn new(
        env_prefix: Option<PathBuf>,
        prefer_env: bool,
        native_python: Option<PathBuf>,
    ) -> Self {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(paths) = std::env::var_os("JUPYTER_PATH") {
            dirs.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
        }
        let user = crate::jupyter_paths::data_dir();
        let env = env_prefix.as_ref().map(|p| p.join("share").join("jupyter"));
        let system = [
            PathBuf::from("/usr/local/share/jupyter"),
            PathBuf::from("/usr/share/jupyter"),
        ];
        let env = env.filter(|e| !system.contains(e));
        if prefer_env {
            dirs.extend(env.clone());
            dirs.extend(user.clone());
        } else {
            dirs.extend(user.clone());
            dirs.extend(env.clone());
        }
        dirs.extend(system);
        let mut unique = Vec::new();
        for dir in dirs {
            if !unique.contains(&dir) {
                unique.push(dir);
            }
        }
        KernelSearch {
            data_dirs: unique,
            native_python,
            env_prefix,
        }
    }

    /// From the process environment alone (VIRTUAL_ENV as the environment).
    pub fn from_env() -> Self {
        let prefix = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
        let python = prefix.as_ref().map(|p| p.join("bin").join("python"));
        let prefer = prefix.is_some();
        KernelSearch::new(prefix, prefer, python)
    }

    pub fn find(&self, name: &str) -> Result<KernelSpec> {
        // jupyter_client's KernelManager renames `python` to the native kernel's name
        // whatever kernelspecs exist; notebooks written for papermill and nbclient rely on it.
        let name = if name == "python" {
            NATIVE_KERNEL
        } else {
            name
        };
        for dir in &self.data_dirs {
            let folder = dir.join("kernels").join(name);
            let file = folder.join("kernel.json");
            if file.is_file() {
                return read_spec(name, &folder, &file);
            }
        }
        if name == NATIVE_KERNEL {
            if let Some(spec) = self.native() {
                return Ok(spec);
            }
        }
        Err(Error::KernelNotFound {
            name: name.to_owned(),
            available: self.names(),
            searched: self.data_dirs.clone(),
        })
    }

    /// Every kernelspec, by name (the first found wins, as in jupyter_client).
    pub fn list(&self) -> Vec<KernelSpec> {
        let mut out: Vec<KernelSpec> = Vec::new();
        for name in self.names() {
            if let Ok(spec) = self.find(&name) {
                out.push(spec);
            }
        }
        out
    }

    fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for dir in &self.data_dirs {
            let Ok(entries) = std::fs::read_dir(dir.join("kernels")) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().join("kernel.json").is_file() && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        if self.native_python.is_some() && !names.iter().any(|n| n == NATIVE_KERNEL) {
            names.push(NATIVE_KERNEL.into());
        }
        names.sort();
        names
    }

    fn native(&self) -> Option<KernelSpec> {
        let python = self.native_python.as_ref()?;
        Some(KernelSpec {
            name: NATIVE_KERNEL.into(),
            resource_dir: None,
            argv: vec![
                python.display().to_string(),
                "-m".into(),
                "ipykernel_launcher".into(),
                "-f".into(),
                "{connection_file}".into(),
            ],
            display_name: "Python 3 (ipykernel)".into(),
            language: "python".into(),
            env: BTreeMap::new(),
            interrupt_mode: InterruptMode::Signal,
            env_prefix: self.env_prefix.clone(),
        })
    }
}

fn read_spec(name: &str, folder: &Path, file: &Path) -> Result<KernelSpec> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let json: KernelJson = serde_json::from_str(&text).map_err(|e| Error::KernelNotFound {
        name: format!("{name} (its kernel.json is invalid: {e})"),
        available: vec![],
        searched: vec![file.to_owned()],
    })?;
    // `<prefix>/share/jupyter/kernels/<name>` belongs to the environment `<prefix>`.
    let env_prefix = folder
        .ancestors()
        .nth(4)
        .filter(|_| folder.ends_with(Path::new("share/jupyter/kernels").join(name)))
        .map(Path::to_owned);
    Ok(KernelSpec {
        name: name.to_owned(),
        resource_dir: Some(folder.to_owned()),
        argv: json.argv,
        display_name: json.display_name,
        language: json.language,
        env: json.env,
        interrupt_mode: match json.interrupt_mode.as_deref() {
            Some("message") => InterruptMode::Message,
            _ => InterruptMode::Signal,
        },
        env_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_spec(root: &Path, name: &str, body: &str) {
        let folder = root.join("kernels").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("kernel.json"), body).unwrap();
    }

    #[test]
    fn first_data_dir_wins_and_missing_kernels_are_reported() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_spec(
            a.path(),
            "k",
            r#"{"argv": ["a", "{connection_file}"], "display_name": "A", "language": "python"}"#,
        );
        write_spec(
            b.path(),
            "k",
            r#"{"argv": ["b"], "display_name": "B", "language": "python"}"#,
        );
        write_spec(
            b.path(),
            "r",
            r#"{"argv": ["R"], "display_name": "R", "language": "R", "interrupt_mode": "message"}"#,
        );
        let search = KernelSearch {
            data_dirs: vec![a.path().into(), b.path().into()],
            native_python: None,
            env_prefix: None,
        };
        assert_eq!(search.find("k").unwrap().display_name, "A");
        assert_eq!(
            search.find("r").unwrap().interrupt_mode,
            InterruptMode::Message
        );
        match search.find("nope").unwrap_err() {
            Error::KernelNotFound {
                name,
                available,
                searched,
            } => {
                assert_eq!(name, "nope");
                assert_eq!(available, ["k", "r"]);
                assert_eq!(searched.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn native_python_kernel_and_env_prefix() {
        let env = tempfile::tempdir().unwrap();
        let data = env.path().join("share").join("jupyter");
        write_spec(
            &data,
            "julia",
            r#"{"argv": ["julia"], "display_name": "Julia", "language": "julia"}"#,
        );
        let search = KernelSearch {
            data_dirs: vec![data],
            native_python: Some("/x/bin/python".into()),
            env_prefix: None,
        };
        let py = search.find("python3").unwrap();
        assert_eq!(py.argv[0], "/x/bin/python");
        // `python` is jupyter_client's alias of the native kernel.
        let alias = search.find("python").unwrap();
        assert_eq!(
            (alias.name.as_str(), alias.argv[0].as_str()),
            ("python3", "/x/bin/python")
        );
        assert_eq!(
            search.find("julia").unwrap().env_prefix.as_deref(),
            Some(env.path())
        );
    }

    #[test]
    fn jupyter_path_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY-free: tests in this module do not read JUPYTER_PATH concurrently.
        let search = {
            let old = std::env::var_os("JUPYTER_PATH");
            std::env::set_var("JUPYTER_PATH", dir.path());
            let s = KernelSearch::new(Some("/opt/env".into()), true, None);
            match old {
                Some(v) => std::env::set_var("JUPYTER_PATH", v),
                None => std::env::remove_var("JUPYTER_PATH"),
            }
            s
        };
        assert_eq!(search.data_dirs[0], dir.path());
        assert_eq!(search.data_dirs[1], PathBuf::from("/opt/env/share/jupyter"));
        assert_eq!(
            search.data_dirs.last().unwrap(),
            &PathBuf::from("/usr/share/jupyter")
        );
    }
}
