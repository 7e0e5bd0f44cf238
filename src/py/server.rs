//! `notebook_executor._core.ServerCore`: what the Jupyter server extension needs beyond
//! the Python API (result pages, share links, the change feed, the in-process
//! scheduler), over the same service as an `ExecutorCore`. Awaitables: the server calls
//! them from its event loop (sharing in Cloud Storage also blocking, for the CLI).

use super::blocking::block;
use super::errors::to_pyerr;
use super::executor::{awaitable, json, ExecutorCore};
use crate::error::{Error, Result};
use crate::model::Execution;
use crate::runtime::runtime;
use crate::service::run_scheduler;
use crate::service::Service;
use crate::storage::{self, Location};
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

    /// The backends and what each offers (machine types, accelerators, regions), the
    /// fields of its own it takes, and whether it is configured, as JSON.
    fn backends(&self) -> String {
        let all: Vec<_> = self
            .service
            .backends
            .all()
            .iter()
            .map(|b| {
                let mut shown =
                    serde_json::to_value(b.capabilities()).expect("capabilities serialize");
                shown["configured"] = b.configured().into();
                shown["fields"] = b.fields().into();
                shown
            })
            .collect();
        json(&all)
    }

    /// What the backends keep ready for work (the local warm pool: kernels kept, waiting,
    /// their memory), as JSON by backend name.
    fn warm_pools_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        awaitable(
            py,
            async move { service.warm_pools().await.map(|p| json(&p)) },
        )
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

    /// V4 signed URLs of a result in Cloud Storage, valid for `lifetime_seconds` (whole,
    /// at most 7 days): JSON `{url, expire_time}` for the result page, with `notebook_url`
    /// when `include_notebook`. The run must have ended (the page is written then). Like
    /// the next one, an awaitable for the server, or with `blocking` the answer (the CLI).
    #[pyo3(signature = (execution_id, lifetime_seconds, include_notebook=false, blocking=false))]
    fn signed_url<'py>(
        &self,
        py: Python<'py>,
        execution_id: String,
        lifetime_seconds: u64,
        include_notebook: bool,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        let lifetime = Duration::from_secs(lifetime_seconds);
        answer(py, blocking, async move {
            let (execution, page) = result_in_bucket(&service, &execution_id).await?;
            if !execution.state.is_terminal() {
                return Err(Error::Conflict(format!(
                    "execution {execution_id} is {}: its result page is written when the run \
                     ends (share a link, kind \"link\", to follow it meanwhile)",
                    execution.state.as_str()
                )));
            }
            if !storage::exists(&page).await? {
                return Err(Error::NotFound {
                    kind: "result page of execution",
                    id: execution_id,
                });
            }
            let signed = storage::signed_url(&page, lifetime).await?;
            let mut urls =
                serde_json::json!({"url": signed.url, "expire_time": signed.expire_time});
            if include_notebook {
                let notebook =
                    storage::parse_field("output_notebook_uri", &execution.output_notebook_uri)?;
                urls["notebook_url"] = storage::signed_url(&notebook, lifetime).await?.url.into();
            }
            Ok(json(&urls))
        })
    }

    /// Grants `member` (an email, or user:/group:/serviceAccount:/domain:) read access to
    /// the whole bucket that holds a result (`roles/storage.objectViewer`); JSON `{bucket,
    /// member, role, changed, warning}`.
    #[pyo3(signature = (execution_id, member, blocking=false))]
    fn grant_bucket_access<'py>(
        &self,
        py: Python<'py>,
        execution_id: String,
        member: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        answer(py, blocking, async move {
            let member = storage::member_of(&member)?; // bad input before any call
            let (_, page) = result_in_bucket(&service, &execution_id).await?;
            let Location::Gcs { bucket, .. } = &page else {
                unreachable!("result_in_bucket gives an object in a bucket")
            };
            storage::grant_object_viewer(bucket, &member)
                .await
                .map(|g| json(&g))
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

/// The JSON answer of `future`: waited for here (the GIL released) when `blocking`, else an
/// awaitable.
fn answer<'py>(
    py: Python<'py>,
    blocking: bool,
    future: impl std::future::Future<Output = Result<String>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>> {
    if blocking {
        let text = block(py, future)?;
        Ok(pyo3::types::PyString::new(py, &text).into_any())
    } else {
        awaitable(py, future)
    }
}

/// The execution and its result page, which must be in Cloud Storage: signed URLs and
/// bucket access are Cloud Storage's ways to share (a local result has share links).
async fn result_in_bucket(service: &Service, id: &str) -> Result<(Execution, Location)> {
    let execution = service.get(id).await?;
    let page = storage::parse_field("output_html_uri", &execution.output_html_uri)?;
    if page.is_local() {
        return Err(Error::invalid(
            "kind",
            format!(
                "the result of execution {id} is in a local folder ({}): signed URLs and bucket \
                 access are for results in Cloud Storage; share it with a link (kind \"link\")",
                page.parent()
            ),
        ));
    }
    Ok((execution, page))
}
