//! `execute_notebook`: the foreground run, with the GIL released while the engine works
//! and Ctrl-C stopping the run and its kernel.

use super::blocking::{block, block_interruptible};
use super::errors::to_pyerr;
use super::params::parameters_from_py;
use crate::engine::{self, status, RunOptions, TerminalObserver};
use crate::kernel::KernelSearch;
use crate::model::Progress;
use crate::storage;
use crate::timeouts;
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::ffi::CString;
use std::path::PathBuf;
use std::time::Duration;

/// The kernel search path of the calling interpreter, as jupyter_client computes it.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct PythonEnv {
    prefix: PathBuf,
    prefer_env: bool,
    native_python: Option<PathBuf>,
    pub executable: PathBuf,
}

impl PythonEnv {
    pub fn search(&self) -> KernelSearch {
        KernelSearch::new(
            Some(self.prefix.clone()),
            self.prefer_env,
            self.native_python.clone(),
        )
    }
}

#[pyfunction]
#[pyo3(signature = (input_path, output_path, parameters, kernel_name, cwd, timeout, cell_timeout, progress, log_output, allow_errors, skip_cells_with_tag, env, return_notebook=true, status=None, recorded_input_path=None))]
#[allow(clippy::too_many_arguments)]
pub fn execute_notebook(
    py: Python<'_>,
    input_path: String,
    output_path: Option<String>,
    parameters: Option<&Bound<'_, PyAny>>,
    kernel_name: Option<String>,
    cwd: Option<PathBuf>,
    timeout: Option<f64>,
    cell_timeout: Option<f64>,
    progress: bool,
    log_output: bool,
    allow_errors: bool,
    skip_cells_with_tag: Option<String>,
    env: PythonEnv,
    return_notebook: bool,
    status: Option<String>,
    recorded_input_path: Option<String>,
) -> PyResult<Option<String>> {
    let status = status
        .map(|s| storage::parse_field("status", &s))
        .transpose()
        .map_err(|e| to_pyerr(py, e))?;
    let parameters = parameters_from_py(parameters).map_err(|e| to_pyerr(py, e))?;
    let input = storage::parse_field("input_path", &input_path).map_err(|e| to_pyerr(py, e))?;
    let output = output_path
        .map(|o| storage::parse_field("output_path", &o))
        .transpose()
        .map_err(|e| to_pyerr(py, e))?;
    let timeout = timeouts::timeout("timeout", timeout).map_err(|e| to_pyerr(py, e))?;
    let cell_timeout =
        timeouts::timeout("cell_timeout", cell_timeout).map_err(|e| to_pyerr(py, e))?;
    let options = RunOptions {
        input,
        recorded_input_path,
        output,
        parameters,
        kernel_name,
        cwd,
        timeout,
        cell_timeout,
        allow_errors,
        skip_cells_with_tag,
        search: env.search(),
        ..Default::default()
    };
    let prepared = block(py, engine::prepare(options))?;
    for warning in &prepared.warnings {
        let message = CString::new(warning.replace('\0', " ")).unwrap_or_default();
        PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)?;
    }
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let run = async move {
        let mut observer = TerminalObserver::new(progress, log_output);
        let result = match status {
            None => prepared.run(&mut observer, cancel_rx).await,
            Some(location) => {
                run_reporting_status(prepared, &mut observer, cancel_rx, location).await
            }
        };
        result.map(|nb| return_notebook.then(|| nb.as_value().to_string()))
    };
    // On Ctrl-C the run stops and its kernel is gone before the exception is raised.
    block_interruptible(
        py,
        run,
        move || {
            let _ = cancel_tx.send(true);
        },
        Duration::from_secs(30),
    )
}

/// The run, with its status written beside its output as it goes and when it ends (for
/// the backend following a remote job).
async fn run_reporting_status(
    prepared: engine::PreparedRun,
    observer: &mut TerminalObserver,
    cancel: tokio::sync::watch::Receiver<bool>,
    location: storage::Location,
) -> crate::error::Result<crate::notebook::Notebook> {
    let (progress_tx, progress_rx) = tokio::sync::watch::channel(Progress::default());
    let last = progress_rx.clone();
    let writer = tokio::spawn(status::write_progress(
        location.clone(),
        progress_rx,
        engine::upload_interval(),
    ));
    let result = {
        let mut reporting = status::StatusObserver::new(observer, progress_tx);
        prepared.run(&mut reporting, cancel).await
    };
    writer.abort();
    let progress = last.borrow().clone();
    status::write_final(&location, progress, &result).await?;
    result
}

/// The kernelspecs visible to this interpreter: a list of `{name, display_name, language, resource_dir}`.
#[pyfunction]
pub fn list_kernelspecs<'py>(py: Python<'py>, env: PythonEnv) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for spec in env.search().list() {
        let entry = PyDict::new(py);
        entry.set_item("name", &spec.name)?;
        entry.set_item("display_name", &spec.display_name)?;
        entry.set_item("language", &spec.language)?;
        entry.set_item(
            "resource_dir",
            spec.resource_dir.map(|p| p.display().to_string()),
        )?;
        out.append(entry)?;
    }
    Ok(out)
}
