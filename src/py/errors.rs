//! The one place where core errors become Python exceptions: instances of the classes
//! of `notebook_executor.errors`, with their attributes set.

use crate::error::{Error, Failure};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
    match build(py, &error) {
        Ok(err) => err,
        Err(import_failure) => PyRuntimeError::new_err(format!(
            "{error} (and the error classes are missing: {import_failure})"
        )),
    }
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let module = py.import("notebook_executor.errors")?;
    let kwargs = PyDict::new(py);
    let class = match error {
        Error::NotebookFormat { path, .. } => {
            kwargs.set_item("path", path.display().to_string())?;
            "NotebookFormatError"
        }
        Error::Parameter { name, .. } => {
            kwargs.set_item("name", name)?;
            "ParameterError"
        }
        Error::KernelNotFound {
            name,
            available,
            searched,
        } => {
            kwargs.set_item("name", name)?;
            kwargs.set_item("available", available)?;
            kwargs.set_item(
                "searched",
                searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>(),
            )?;
            "KernelNotFoundError"
        }
        Error::KernelDied { cell_index, .. } => {
            kwargs.set_item("cell_index", cell_index)?;
            "KernelDiedError"
        }
        Error::Protocol(_) => {
            kwargs.set_item("cell_index", py.None())?;
            "KernelDiedError"
        }
        Error::CellExecution {
            cell_index,
            execution_count,
            ename,
            evalue,
            traceback,
        } => {
            kwargs.set_item("cell_index", cell_index)?;
            kwargs.set_item("execution_count", execution_count)?;
            kwargs.set_item("ename", ename)?;
            kwargs.set_item("evalue", evalue)?;
            kwargs.set_item("traceback", traceback)?;
            "CellExecutionError"
        }
        Error::Timeout { cell_index, .. } => {
            kwargs.set_item("cell_index", cell_index)?;
            "ExecutionTimeoutError"
        }
        Error::Io { path, .. } => {
            kwargs.set_item("path", path.display().to_string())?;
            "NotebookExecutorError"
        }
        Error::Cancelled => "NotebookExecutorError",
        Error::Invalid { field, .. } => {
            kwargs.set_item("field", field)?;
            "ValidationError"
        }
        Error::InvalidSchedule {
            field, position, ..
        } => {
            kwargs.set_item("field", field)?;
            kwargs.set_item("position", position)?;
            "InvalidScheduleError"
        }
        Error::NotFound { id, .. } => {
            kwargs.set_item("id", id)?;
            "NotFoundError"
        }
        Error::Conflict(_) => "ConflictError",
        Error::Store { url, .. } => {
            kwargs.set_item("url", url)?;
            "StoreError"
        }
        Error::Resource {
            resource, failure, ..
        } => {
            kwargs.set_item("resource", resource)?;
            match failure {
                Failure::NotFound => {
                    kwargs.set_item("path", resource)?;
                    "NotFoundError"
                }
                Failure::AlreadyExists => "ConflictError",
                Failure::PermissionDenied => "PermissionDeniedError",
                Failure::Unauthenticated => "CredentialsError",
                Failure::Invalid => "ValidationError",
                Failure::Unavailable => "UnavailableError",
                Failure::Other => "ResourceError",
            }
        }
    };
    let instance = module
        .getattr(class)?
        .call((error.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}
