//! Backends: where executions run. The service owns records and the queue; a backend
//! validates its own fields, starts work for queued executions, and stops work on cancel.
//!
//! The interface is shaped for remote engines too (see docs/backends.md): for Vertex AI or
//! Ray, `dispatch` submits a job whose container runs the same runner entry point
//! (`python -m notebook_executor._runner`) against the store and polls running jobs,
//! `request_cancel` cancels the remote job; state and progress reach the store from the
//! runner inside the job, as they do locally.

pub mod local;

pub use local::LocalBackend;

use crate::error::{Error, Result};
use crate::model::{Execution, ExecutionSpec};
use crate::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a backend offers to a submission (and to the submit dialog).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Capabilities {
    pub name: &'static str,
    pub machine_types: Vec<String>,
    pub accelerator_types: Vec<String>,
    pub regions: Vec<String>,
    /// URL schemes of output locations it writes to ("" is a local path).
    pub output_schemes: Vec<&'static str>,
}

pub trait Backend: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// Checks the fields only this backend knows (machine, accelerators, region).
    fn validate(&self, spec: &ExecutionSpec) -> Result<()>;

    /// Starts work for this backend's queued executions within its limits, and brings
    /// its running ones up to date (dead local runners, finished remote jobs).
    fn dispatch<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<()>>;

    /// Stops a running execution already marked CANCELLING in the store.
    fn request_cancel<'a>(
        &'a self,
        store: &'a Store,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The backends of a service, by name.
#[derive(Clone)]
pub struct Backends(Vec<Arc<dyn Backend>>);

impl Backends {
    pub fn new(backends: Vec<Arc<dyn Backend>>) -> Backends {
        Backends(backends)
    }

    pub fn get(&self, name: &str) -> Result<&Arc<dyn Backend>> {
        self.0
            .iter()
            .find(|b| b.capabilities().name == name)
            .ok_or_else(|| {
                Error::invalid(
                    "backend",
                    format!(
                        "unknown backend {name:?} (available: {})",
                        self.names().join(", ")
                    ),
                )
            })
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|b| b.capabilities().name).collect()
    }

    pub fn all(&self) -> &[Arc<dyn Backend>] {
        &self.0
    }
}

/// A value must be one of the offered ones (an empty value picks the default).
pub fn check_offered(
    field: &'static str,
    value: &str,
    offered: &[String],
    backend: &str,
) -> Result<()> {
    if value.is_empty() || offered.iter().any(|o| o == value) {
        return Ok(());
    }
    let choices = if offered.is_empty() {
        "none".to_owned()
    } else {
        offered.join(", ")
    };
    Err(Error::invalid(
        field,
        format!("the {backend} backend has no {field} {value:?} (offered: {choices})"),
    ))
}
