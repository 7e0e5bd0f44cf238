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
            kwargs.set_item("resource", path.display().to_string())?;
            "ResourceError"
        }
        Error::Cancelled => "CancelledError",
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

/// One error of every kind the core has, for the test that walks them all through both
/// boundaries (to Python here, to REST in the server): a new kind must be added here, or
/// `kind_of` does not compile and the Rust test below fails.
fn samples() -> Vec<Error> {
    use crate::error::Failure::*;
    let mut all = vec![
        Error::NotebookFormat {
            path: "nb.ipynb".into(),
            message: "not JSON".into(),
        },
        Error::parameter(Some("alpha"), "bad"),
        Error::KernelNotFound {
            name: "cobol".into(),
            available: vec![],
            searched: vec![],
        },
        Error::KernelDied {
            cell_index: Some(1),
            message: "died".into(),
        },
        Error::CellExecution {
            cell_index: 1,
            execution_count: Some(2),
            ename: "ValueError".into(),
            evalue: "x".into(),
            traceback: vec![],
        },
        Error::Timeout {
            cell_index: None,
            run_timeout: true,
            message: "late".into(),
        },
        Error::Cancelled,
        Error::io("out.ipynb", std::io::Error::other("disk full")),
        Error::Protocol("bad message".into()),
        Error::invalid("region", "no such region"),
        Error::InvalidSchedule {
            field: "cron_schedule",
            position: Some(2),
            message: "bad".into(),
        },
        Error::NotFound {
            kind: "execution",
            id: "x".into(),
        },
        Error::Conflict("running".into()),
        Error::Store {
            url: "sqlite://x".into(),
            message: "gone".into(),
        },
    ];
    for failure in [
        NotFound,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        Invalid,
        Unavailable,
        Other,
    ] {
        all.push(Error::resource("gs://b/o", failure, "failed"));
    }
    all
}

/// Each kind's name (exhaustive: a new kind breaks the build until it is named here).
fn kind_of(error: &Error) -> &'static str {
    match error {
        Error::NotebookFormat { .. } => "NotebookFormat",
        Error::Parameter { .. } => "Parameter",
        Error::KernelNotFound { .. } => "KernelNotFound",
        Error::KernelDied { .. } => "KernelDied",
        Error::CellExecution { .. } => "CellExecution",
        Error::Timeout { .. } => "Timeout",
        Error::Cancelled => "Cancelled",
        Error::Io { .. } => "Io",
        Error::Protocol(_) => "Protocol",
        Error::Invalid { .. } => "Invalid",
        Error::InvalidSchedule { .. } => "InvalidSchedule",
        Error::NotFound { .. } => "NotFound",
        Error::Conflict(_) => "Conflict",
        Error::Store { .. } => "Store",
        Error::Resource { .. } => "Resource",
    }
}

#[cfg(test)]
const KINDS: [&str; 15] = [
    "NotebookFormat",
    "Parameter",
    "KernelNotFound",
    "KernelDied",
    "CellExecution",
    "Timeout",
    "Cancelled",
    "Io",
    "Protocol",
    "Invalid",
    "InvalidSchedule",
    "NotFound",
    "Conflict",
    "Store",
    "Resource",
];

/// `(kind, exception)` for every kind of core error, as Python receives it (tests walk them).
#[pyfunction]
pub fn _error_samples(py: Python<'_>) -> Vec<(&'static str, PyErr)> {
    samples()
        .into_iter()
        .map(|e| (kind_of(&e), to_pyerr(py, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_samples_cover_every_kind() {
        let mut covered: Vec<&str> = super::samples().iter().map(super::kind_of).collect();
        covered.sort_unstable();
        covered.dedup();
        let mut kinds = super::KINDS.to_vec();
        kinds.sort_unstable();
        assert_eq!(covered, kinds);
    }
}
