//! `notebook_executor._core.ServerCore`: what the Jupyter server extension needs beyond
//! the Python API (result pages, share links, the change feed, the in-process
//! scheduler), over the same service as an `ExecutorCore`. Awaitables only: the server
//! calls them from its event loop.

use super::blocking::block;
use super::errors::to_pyerr;
use super::executor::{awaitable, json, ExecutorCore};
use crate::error::Error;
use crate::runtime::runtime;
use crate::service::run_scheduler;
use crate::service::Service;
use pyo3::prelude::*;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

#[pyclass(module = "notebook_executor._core", frozen)]
pub struct ServerCore {
    service: Service,
}

/// The scheduler and dispatcher running on the module's runtime until `stop`.
#[pyclass(module = "notebook_executor._core", frozen)]
pub struct SchedulerTask {
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<crate::error::Result<()>>>>,
}

#[pymethods]
impl SchedulerTask {
    /// Asks the scheduler to stop (after its current firing transaction) and waits up to
    /// `timeout` seconds for it.
    #[pyo3(signature = (timeout=10.0))]
    fn stop(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let _ = self.stop.send(true);
        let Some(task) = self.task.lock().expect("not poisoned").take() else {
            return Ok(());
        };
        let wait = Duration::from_secs_f64(timeout.max(0.0));
        block(py, async move {
            match tokio::time::timeout(wait, task).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) | Err(_) => Ok(()), // aborted, or still in a transaction: its commit or rollback stands
            }
        })
    }

    #[getter]
    fn running(&self) -> bool {
        self.task
            .lock()
            .expect("not poisoned")
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

#[pymethods]
impl ServerCore {
    #[new]
    fn new(core: &ExecutorCore) -> Self {
        ServerCore {
            service: core.service().clone(),
        }
    }

    /// Starts the scheduler (and dispatcher) in the background; returns its task.
    #[pyo3(signature = (log=false))]
    fn start_scheduler(&self, log: bool) -> SchedulerTask {
        let (stop_tx, stop_rx) = watch::channel(false);
        let service = self.service.clone();
        let task = runtime().spawn(async move { run_scheduler(service, stop_rx, log).await });
        SchedulerTask {
            stop: stop_tx,
            task: Mutex::new(Some(task)),
        }
    }

    /// The backends and what each offers (machine types, accelerators, regions), as JSON.
    fn backends(&self) -> String {
        let all: Vec<_> = self
            .service
            .backends
            .all()
            .iter()
            .map(|b| b.capabilities())
            .collect();
        json(&all)
    }

    /// Where results go when a submission names no output location.
    fn default_output_dir(&self) -> String {
        self.service.default_output.to_string()
    }

    /// The result page (HTML): the run's page when it has ended, else the notebook as far
    /// as it got; `owner_links`: with the download and import links of the owner's route.
    fn result_html_async<'py>(
        &self,
        py: Python<'py>,
        id: String,
        owner_links: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(
            py,
            async move { service.result_html(&id, owner_links).await },
        )
    }

    /// (the executed notebook's bytes, a file name for a download).
    fn output_notebook_async<'py>(
        &self,
        py: Python<'py>,
        id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(py, async move {
            let (bytes, name) = service.output_notebook(&id).await?;
            // As bytes (a Vec<u8> would become a list of ints).
            Ok((std::borrow::Cow::<[u8]>::Owned(bytes), name))
        })
    }

    /// The Cloud Storage buckets of the project, as JSON `[{name, location, create_time}]`.
    fn list_buckets_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, async move {
            crate::storage::list_buckets().await.map(|b| json(&b))
        })
    }

    /// Creates a bucket in the project (`location`: a region; empty: the default); JSON.
    fn create_bucket_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        location: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, async move {
            crate::storage::create_bucket(&name, &location)
                .await
                .map(|b| json(&b))
        })
    }

    /// A share link's record (the caller keeps the secret, gives its hash).
    fn create_share_async<'py>(
        &self,
        py: Python<'py>,
        execution_id: String,
        token_hash: String,
        lifetime_seconds: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !(lifetime_seconds > 0.0) || !lifetime_seconds.is_finite() {
            return Err(to_pyerr(
                py,
                Error::invalid(
                    "lifetime_seconds",
                    "a share link's lifetime must be a positive number of seconds",
                ),
            ));
        }
        let service = self.service.clone();
        // Beyond what a Duration holds is "forever" (the store caps it at a hundred years).
        let lifetime = Duration::try_from_secs_f64(lifetime_seconds).unwrap_or(Duration::MAX);
        awaitable(py, async move {
            service
                .create_share(&execution_id, &token_hash, lifetime)
                .await
                .map(|s| json(&s))
        })
    }

    fn list_shares_async<'py>(
        &self,
        py: Python<'py>,
        execution_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(py, async move {
            service.list_shares(&execution_id).await.map(|s| json(&s))
        })
    }

    fn revoke_share_async<'py>(
        &self,
        py: Python<'py>,
        execution_id: String,
        share_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(py, async move {
            service.revoke_share(&execution_id, &share_id).await
        })
    }

    /// The execution a live link shows (JSON); NotFoundError otherwise.
    fn shared_execution_async<'py>(
        &self,
        py: Python<'py>,
        token_hash: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(py, async move {
            service
                .shared_execution(&token_hash)
                .await
                .map(|e| json(&e))
        })
    }

    /// (executions JSON, schedules JSON, deletions JSON) written at or after `since` (RFC 3339).
    #[pyo3(signature = (since, limit=500))]
    fn changes_since_async<'py>(
        &self,
        py: Python<'py>,
        since: String,
        limit: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(py, async move {
            let changes = service
                .changes_since(&since, limit.clamp(1, 10_000))
                .await?;
            Ok((
                json(&changes.executions),
                json(&changes.schedules),
                json(&changes.deletions),
            ))
        })
    }
}
