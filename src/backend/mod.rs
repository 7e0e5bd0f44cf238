//! Backends: where executions run. The service owns records and the queue; a backend
//! validates its own fields, starts work for queued executions, keeps the records of its
//! running ones true, and stops work on cancel.
//!
//! `local` runs executions in runner processes on this machine. The remote backends
//! (`vertex` and `ray`, see docs/backends.md) run each execution as a job that runs
//! `notebook-executor run` on a staged copy of the notebook; the job never reaches the
//! store: its state comes from the engine's API and its progress from a status object
//! beside the output (`remote`).

pub mod local;
pub mod logs;
pub mod ray;
pub mod remote;
pub mod vertex;

pub use local::LocalBackend;
pub use logs::Logs;
pub use ray::RayBackend;
pub use vertex::VertexBackend;

use crate::error::{Error, Result};
use crate::model::{Execution, ExecutionSpec};
use crate::store::Store;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a backend offers to a submission (and to the submit dialog).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Capabilities {
    pub name: &'static str,
    pub machine_types: Vec<String>,
    /// What a machine type is, in words, where the names do not say it (Ray's resource
    /// shapes: "4 CPUs, 1 GPU, 16 GiB").
    pub machine_type_descriptions: BTreeMap<String, String>,
    pub accelerator_types: Vec<String>,
    pub regions: Vec<String>,
    /// URL schemes of output locations it writes to ("" is a local path).
    pub output_schemes: Vec<&'static str>,
    /// Where its results go when a submission names no output location (None: the
    /// service's default).
    pub default_output_location: Option<String>,
    /// Container images it runs (the first is the default); empty: the notebook's kernel.
    pub container_images: Vec<String>,
    pub default_region: Option<String>,
    /// Runs on other machines, with their own kernels (not looked up here).
    pub remote: bool,
}

pub trait Backend: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// Whether its settings say where to run (a project, a cluster...) rather than all
    /// defaults: the panel offers what only a configured remote backend needs (the region
    /// filter), and the dialog says which backends are not set up.
    fn configured(&self) -> bool {
        true
    }

    /// The submission fields of its own that it takes (the common ones, such as the
    /// output location and parameters, all backends take): the dialog shows only these.
    fn fields(&self) -> &'static [&'static str] {
        &["kernel_name"]
    }

    /// Checks the fields only this backend knows (machine, accelerators, region, image)
    /// and fills in its defaults for them.
    fn validate(&self, spec: &mut ExecutionSpec) -> Result<()>;

    /// Starts work for this backend's queued executions within its limits, and brings
    /// its running ones up to date (dead local runners, finished remote jobs).
    fn dispatch<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<()>>;

    /// Stops a running execution already marked CANCELLING in the store.
    fn request_cancel<'a>(
        &'a self,
        store: &'a Store,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>>;

    /// Checks, at submission, what needs a call (credentials, a project, a reachable
    /// service): an error here says the backend cannot take work now.
    fn check_available(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Brings one execution that has not ended up to date (a read of its record).
    fn refresh<'a>(
        &'a self,
        _store: &'a Store,
        _execution: &'a Execution,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// How often a `wait` on one of its executions brings it up to date with `refresh`
    /// (None: the dispatcher's pace is enough, as for runners that write their records).
    fn wait_refresh_every(&self) -> Option<Duration> {
        None
    }

    /// Prepares for work to come (a long-lived process calls it every few seconds, and
    /// ahead of a schedule's slot with the kernelspecs of the runs `due_soon`, "" for a run
    /// that names none): the local backend's warm pool.
    fn maintain<'a>(
        &'a self,
        _store: &'a Store,
        _due_soon: &'a [String],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Lets go of what `maintain` keeps (the process that kept it stops).
    fn retire<'a>(&'a self, _store: &'a Store) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// What it keeps ready for work (the local backend's warm pool), as `GET config` shows it.
    fn warm_pool<'a>(&'a self, _store: &'a Store) -> BoxFuture<'a, Result<serde_json::Value>> {
        Box::pin(async { Ok(serde_json::Value::Null) })
    }

    /// What the execution's run has printed so far. By default the notebook's own output
    /// (streams and errors), read through the storage layer.
    fn logs<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<Logs>> {
        Box::pin(logs::notebook_logs(execution))
    }
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
