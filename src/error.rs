//! The one error type of the core. It is converted to Python exceptions once, in `py::errors`.

use crate::model::FailureKind;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    NotebookFormat { path: PathBuf, message: String },

    #[error("{message}")]
    Parameter {
        name: Option<String>,
        message: String,
    },

    #[error("kernel '{name}' not found (available: {}; searched: {})", available.join(", "), searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    KernelNotFound {
        name: String,
        available: Vec<String>,
        searched: Vec<PathBuf>,
    },

    #[error("{message}")]
    KernelDied {
        cell_index: Option<usize>,
        message: String,
    },

    #[error("{} raised {ename}: {evalue}", cell_label(*cell_index, *execution_count))]
    CellExecution {
        cell_index: usize,
        execution_count: Option<i64>,
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },

    #[error("{message}")]
    Timeout {
        cell_index: Option<usize>,
        run_timeout: bool,
        message: String,
    },

    #[error("the run was cancelled")]
    Cancelled,

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("kernel protocol error: {0}")]
    Protocol(String),

    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// A cron expression or time zone; `position` is the 1-based column of the bad field.
    #[error("{field}: {message}{}", position.map(|p| format!(" (at column {p})")).unwrap_or_default())]
    InvalidSchedule {
        field: &'static str,
        position: Option<usize>,
        message: String,
    },

    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },

    #[error("{0}")]
    Conflict(String),

    #[error("store {url}: {message}")]
    Store { url: String, message: String },

    /// A file, object, bucket or cloud resource could not be read, written or reached.
    /// `resource` names it (a path, a `gs://` URI, a job).
    #[error("{resource}: {message}")]
    Resource {
        resource: String,
        failure: Failure,
        message: String,
    },
}

/// Why an operation on a resource failed, as its callers need to tell (HTTP status, exit
/// code, exception class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    AlreadyExists,
    PermissionDenied,
    /// No credentials, or credentials that were refused.
    Unauthenticated,
    /// The request itself is wrong (a bad bucket name, say).
    Invalid,
    /// The service could not be reached, or kept failing.
    Unavailable,
    /// Anything else (a full disk, an I/O error).
    Other,
}

/// How messages name a cell: by its prompt, `In [3]`, as the result page, JupyterLab and
/// papermill's banner show it. (A cell that raised always has its number: the kernel's reply
/// gives it; the engine names unnumbered cells by their neighbours, see `engine::cell_label`.)
pub fn cell_label(cell_index: usize, execution_count: Option<i64>) -> String {
    match execution_count {
        Some(count) => format!("In [{count}]"),
        None => format!("cell {}", cell_index + 1),
    }
}

impl Error {
    /// The kind of a run's failure that this error is (recorded with the execution; the
    /// CLI's exit code of `submit --wait` follows it, as `run`'s follows the exception).
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Error::CellExecution { .. } => FailureKind::CellError,
            Error::KernelDied { .. } | Error::Protocol(_) => FailureKind::KernelDied,
            Error::KernelNotFound { .. } => FailureKind::KernelNotFound,
            Error::Timeout { .. } => FailureKind::Timeout,
            Error::NotebookFormat { .. }
            | Error::Parameter { .. }
            | Error::Cancelled
            | Error::Io { .. }
            | Error::Invalid { .. }
            | Error::InvalidSchedule { .. }
            | Error::NotFound { .. }
            | Error::Conflict(_)
            | Error::Store { .. }
            | Error::Resource { .. } => FailureKind::None,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn resource(
        resource: impl Into<String>,
        failure: Failure,
        message: impl Into<String>,
    ) -> Self {
        Error::Resource {
            resource: resource.into(),
            failure,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn parameter(name: Option<&str>, message: impl Into<String>) -> Self {
        Error::Parameter {
            name: name.map(str::to_owned),
            message: message.into(),
        }
    }
}
