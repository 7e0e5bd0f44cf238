//! `notebook_executor._core.ExecutorCore`: the execution service for Python. Blocking calls
//! release the GIL; records cross the boundary as JSON text (the Python wrapper turns them
//! into `Execution` objects).

use super::blocking::{block, block_interruptible};
use super::errors::to_pyerr;
use super::run::PythonEnv;
use crate::backend::local::warm::{LocalConfig, WarmPool};
use crate::backend::ray::RayConfig;
use crate::backend::vertex::VertexConfig;
use crate::backend::{Backends, LocalBackend, RayBackend, VertexBackend};
use crate::error::Error;
use crate::model::{ExecutionSpec, State};
use crate::model::{ScheduleChanges, ScheduleFields, ScheduleState};
use crate::service::run_scheduler;
use crate::service::{run_runner, Service, WarmOptions};
use crate::storage::Location;
use crate::store::{default_home, resolve_url, ListFilter, Open, Store};
use pyo3::prelude::*;
use pyo3::BoundObject;
use std::sync::Arc;
use std::time::Duration;

#[pyclass(module = "notebook_executor._core", frozen)]
pub struct ExecutorCore {
    service: Service,
    /// The local backend's runner limit (a runner needs it to take further slots).
    concurrency: i64,
}

/// A Python awaitable of the future, run on the module's tokio runtime.
pub(super) fn awaitable<'py, T>(
    py: Python<'py>,
    future: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        future
            .await
            .map_err(|e| Python::attach(|py| to_pyerr(py, e)))
    })
}

/// The remote backends' settings (the server's traitlets); what is not given comes from the
/// environment.
#[derive(Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct BackendsConfig {
    local: LocalConfig,
    vertex: VertexConfig,
    ray: RayConfig,
}

fn parse_state(state: Option<String>) -> Result<Option<State>, Error> {
    match state.filter(|s| !s.is_empty()) {
        Some(s) => State::parse(&s).map(Some).ok_or_else(|| {
            Error::invalid(
                "state",
                format!(
                    "unknown state {s:?} (one of {})",
                    State::ALL.map(State::as_str).join(", ")
                ),
            )
        }),
        None => Ok(None),
    }
}

fn parse_spec(spec_json: &str) -> Result<ExecutionSpec, Error> {
    parse_named(spec_json, "submission", 0)
}

fn parse_fields(fields_json: &str) -> Result<ScheduleFields, Error> {
    parse_named(fields_json, "schedule", 1)
}

fn parse_changes(changes_json: &str) -> Result<ScheduleChanges, Error> {
    parse_named(changes_json, "schedule", 1)
}

/// Parses a request body so that a wrong value names its field (as the form knows it): the
/// first path segment, or the one below `execution_template` in a schedule (`template_depth` 1).
/// Errors that are about no field (not JSON, not an object) name the whole `body`.
fn parse_named<T: serde::de::DeserializeOwned>(
    json: &str,
    body: &str,
    template_depth: usize,
) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let segments: Vec<String> = e
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let inner = e.inner();
        if !matches!(inner.classify(), serde_json::error::Category::Data) {
            return Error::invalid(body, format!("not JSON: {inner}"));
        }
        let field = match segments.as_slice() {
            [first, second, ..] if template_depth == 1 && first == "execution_template" => {
                second.as_str()
            }
            [first, ..] => first.as_str(),
            [] => body,
        };
        // The error's text names the field already; a deeper path (a parameter's value) is added.
        // Positions in the JSON the bindings built mean nothing to the caller.
        let text = inner.to_string();
        let text = text
            .strip_suffix(&format!(
                " at line {} column {}",
                inner.line(),
                inner.column()
            ))
            .unwrap_or(&text);
        let message = match segments.len() {
            0 | 1 => text.to_owned(),
            _ => format!("at {}: {text}", segments.join(".")),
        };
        Error::invalid(field, message)
    })?;
    deserializer
        .end()
        .map_err(|e| Error::invalid(body, format!("not JSON: {e}")))?;
    Ok(value)
}

fn parse_parameters(
    parameters_json: Option<&str>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Error> {
    parameters_json
        .map(|text| {
            serde_json::from_str(text).map_err(|e| Error::invalid("parameters", e.to_string()))
        })
        .transpose()
}

fn parse_schedule_state(state: Option<String>) -> Result<Option<ScheduleState>, Error> {
    match state.filter(|s| !s.is_empty()) {
        Some(s) => ScheduleState::parse(&s).map(Some).ok_or_else(|| {
            Error::invalid(
                "state",
                format!("unknown schedule state {s:?} (ENABLED or PAUSED)"),
            )
        }),
        None => Ok(None),
    }
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialize")
}

impl ExecutorCore {
    pub(super) fn service(&self) -> &Service {
        &self.service
    }
}

/// How many runs of each schedule to keep: a whole number, at least 1; one beyond what
/// a store can hold keeps everything.
fn count_to_keep(value: &Bound<'_, PyAny>) -> Result<i64, Error> {
    let bad = || {
        Error::invalid(
            "keep_per_schedule",
            "give a whole number of runs, at least 1",
        )
    };
    if value.is_instance_of::<pyo3::types::PyBool>()
        || !value.is_instance_of::<pyo3::types::PyInt>()
    {
        return Err(bad());
    }
    match value.extract::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(bad()),
        Err(_) if value.gt(0).unwrap_or(false) => Ok(i64::MAX),
        Err(_) => Err(bad()),
    }
}

/// Runs an operation for Python: blocking (the GIL released) for `Executor`, or as an
/// awaitable for `AsyncExecutor`. Each operation is declared once, below, with this.
fn call<'py, T>(
    py: Python<'py>,
    blocking: bool,
    future: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    if blocking {
        let value = block(py, future)?;
        value
            .into_pyobject(py)
            .map(BoundObject::into_any)
            .map(BoundObject::into_bound)
            .map_err(Into::into)
    } else {
        awaitable(py, future)
    }
}

#[pymethods]
impl ExecutorCore {
    #[new]
    #[pyo3(signature = (store, env, concurrency=None, output_dir=None, backends_json=None, create_store=true))]
    fn new(
        py: Python<'_>,
        store: Option<String>,
        env: PythonEnv,
        concurrency: Option<i64>,
        output_dir: Option<String>,
        backends_json: Option<&str>,
        create_store: bool,
    ) -> PyResult<Self> {
        let config: BackendsConfig = parse_named(backends_json.unwrap_or("{}"), "backends", 0)
            .map_err(|e| to_pyerr(py, e))?;
        let default_output = match output_dir.filter(|d| !d.is_empty()) {
            Some(text) => Location::parse_folder(&text)
                .map_err(|m| to_pyerr(py, Error::invalid("output_location", m)))?
                .absolute(),
            None => Location::Local(default_home().join("outputs")),
        };
        let url = resolve_url(store.as_deref());
        let mode = if create_store {
            Open::CreateIfMissing
        } else {
            Open::Existing
        };
        let store = block(py, Store::open(&url, mode))?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(2);
        let concurrency = match concurrency {
            None => cores,
            Some(c) if c >= 1 => c,
            Some(c) => {
                return Err(to_pyerr(
                    py,
                    Error::invalid(
                        "concurrency",
                        format!("give at least 1 run at once, not {c}"),
                    ),
                ))
            }
        };
        let warm = WarmPool::from_config(&config.local).map_err(|e| to_pyerr(py, e))?;
        let local = LocalBackend {
            concurrency,
            python: env.executable.clone(),
            warm,
            search: env.search(),
            started: tokio::time::Instant::now(),
            keeper: Default::default(),
        };
        let vertex = VertexBackend::new(config.vertex);
        let ray = RayBackend::new(config.ray);
        Ok(ExecutorCore {
            service: Service {
                store,
                backends: Backends::new(vec![Arc::new(local), Arc::new(vertex), Arc::new(ray)]),
                search: env.search(),
                default_output,
                schedules_changed: Arc::default(),
                listing_refreshed: Arc::default(),
            },
            concurrency,
        })
    }

    #[getter]
    fn store_url(&self) -> String {
        self.service.store.url.clone()
    }

    /// Submits; `spec_json` holds the submission fields. Returns the execution as JSON.
    #[pyo3(signature = (spec_json, blocking=true))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        spec_json: &str,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = parse_spec(spec_json).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            service.submit(spec).await.map(|e| json(&e))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn get<'py>(&self, py: Python<'py>, id: String, blocking: bool) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.get(&id).await.map(|e| json(&e))
        })
    }

    #[pyo3(signature = (state=None, schedule_id=None, page_size=50, page_token=None, region=None, blocking=true))]
    #[allow(clippy::too_many_arguments)]
    fn list<'py>(
        &self,
        py: Python<'py>,
        state: Option<String>,
        schedule_id: Option<String>,
        page_size: i64,
        page_token: Option<String>,
        region: Option<String>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let state = parse_state(state).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            let region = region.filter(|r| !r.is_empty());
            let filter = ListFilter {
                state,
                schedule_id,
                region,
            };
            let page = service
                .list(&filter, page_size, page_token.as_deref())
                .await?;
            Ok((json(&page.items), page.next_page_token))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn cancel<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.cancel(&id).await.map(|e| json(&e))
        })
    }

    #[pyo3(signature = (id, keep_outputs=false, blocking=true))]
    fn delete<'py>(
        &self,
        py: Python<'py>,
        id: String,
        keep_outputs: bool,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.delete(&id, keep_outputs).await
        })
    }

    /// Until terminal. Blocking, the wait is interruptible by Ctrl-C (the execution goes on).
    #[pyo3(signature = (id, timeout=None, blocking=true))]
    fn wait<'py>(
        &self,
        py: Python<'py>,
        id: String,
        timeout: Option<f64>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        let wait = async move {
            service
                .wait(&id, crate::timeouts::wait_timeout("timeout", timeout)?)
                .await
                .map(|e| json(&e))
        };
        if blocking {
            let done = block_interruptible(py, wait, || {}, Duration::ZERO)?;
            Ok(done.into_pyobject(py)?.into_any())
        } else {
            awaitable(py, wait)
        }
    }

    /// What the run has printed so far, as JSON `{source, text}`: its Ray job's logs, else
    /// the notebook's stream output and errors.
    #[pyo3(signature = (id, blocking=true))]
    fn logs<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.logs(&id).await.map(|l| json(&l))
        })
    }

    /// Copies the executed notebook into `dest_dir` (a folder or `gs://` prefix); returns
    /// the new file's location.
    #[pyo3(signature = (id, dest_dir, blocking=true))]
    fn import_result<'py>(
        &self,
        py: Python<'py>,
        id: String,
        dest_dir: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let dest = Location::parse_folder(&dest_dir)
            .map_err(|m| to_pyerr(py, Error::invalid("dest_dir", m)))?
            .absolute();
        let service = self.service.clone();
        call(py, blocking, async move {
            service
                .import_result(&id, &dest)
                .await
                .map(|l| l.to_string())
        })
    }

    /// Retention: deletes finished executions older than `older_than_days` days or beyond
    /// the newest `keep_per_schedule` of each schedule; returns how many.
    #[pyo3(signature = (older_than_days=None, keep_per_schedule=None))]
    fn purge(
        &self,
        py: Python<'_>,
        older_than_days: Option<f64>,
        keep_per_schedule: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let checked = (|| {
            let age = older_than_days
                .map(|d| crate::timeouts::age_in_days("older_than_days", d))
                .transpose()?;
            let keep = keep_per_schedule.map(count_to_keep).transpose()?;
            Ok::<_, Error>((age, keep))
        })();
        let (age, keep_per_schedule) = checked.map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        block(
            py,
            async move { service.purge(age, keep_per_schedule).await },
        )
    }

    /// Starts a runner if work waits and a slot is free (also fails dead runners' work).
    fn dispatch(&self, py: Python<'_>) -> PyResult<()> {
        let service = self.service.clone();
        block(py, async move { service.dispatch().await })
    }

    // Schedules. Fields cross as JSON (`ScheduleFields`); records come back as JSON.

    #[pyo3(signature = (fields_json, blocking=true))]
    fn create_schedule<'py>(
        &self,
        py: Python<'py>,
        fields_json: &str,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields = parse_fields(fields_json).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            service.create_schedule(fields).await.map(|s| json(&s))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn get_schedule<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.get_schedule(&id).await.map(|s| json(&s))
        })
    }

    #[pyo3(signature = (state=None, page_size=50, page_token=None, blocking=true))]
    fn list_schedules<'py>(
        &self,
        py: Python<'py>,
        state: Option<String>,
        page_size: i64,
        page_token: Option<String>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let state = parse_schedule_state(state).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            let page = service
                .list_schedules(state, page_size, page_token.as_deref())
                .await?;
            Ok((json(&page.items), page.next_page_token))
        })
    }

    /// Sets the given fields; `execution_template` fields are merged into the template.
    #[pyo3(signature = (id, changes_json, blocking=true))]
    fn update_schedule<'py>(
        &self,
        py: Python<'py>,
        id: String,
        changes_json: &str,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let changes = parse_changes(changes_json).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            service
                .update_schedule(&id, changes)
                .await
                .map(|s| json(&s))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn pause_schedule<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.pause_schedule(&id).await.map(|s| json(&s))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn resume_schedule<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(py, blocking, async move {
            service.resume_schedule(&id).await.map(|s| json(&s))
        })
    }

    #[pyo3(signature = (id, parameters_json=None, blocking=true))]
    fn run_schedule_now<'py>(
        &self,
        py: Python<'py>,
        id: String,
        parameters_json: Option<&str>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let parameters = parse_parameters(parameters_json).map_err(|e| to_pyerr(py, e))?;
        let service = self.service.clone();
        call(py, blocking, async move {
            service
                .run_schedule_now(&id, parameters)
                .await
                .map(|e| json(&e))
        })
    }

    #[pyo3(signature = (id, blocking=true))]
    fn delete_schedule<'py>(
        &self,
        py: Python<'py>,
        id: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = self.service.clone();
        call(
            py,
            blocking,
            async move { service.delete_schedule(&id).await },
        )
    }

    /// Fires what is due at `now` (RFC 3339; default: the clock). The scheduler's step,
    /// with the clock injectable for tests of the missed-runs rules.
    #[pyo3(signature = (now=None))]
    fn fire_due(&self, py: Python<'_>, now: Option<String>) -> PyResult<String> {
        let now = match now {
            Some(text) => text
                .parse::<jiff::Timestamp>()
                .map_err(|e| to_pyerr(py, Error::invalid("now", e.to_string())))?,
            None => jiff::Timestamp::now(),
        };
        let service = self.service.clone();
        block(py, async move { service.fire_due(now).await }).map(|e| json(&e))
    }

    /// The scheduler and the dispatcher until interrupted (Ctrl-C, or SIGTERM turned into
    /// an exception by the caller): the current firing transaction ends first.
    #[pyo3(signature = (log=true))]
    fn serve(&self, py: Python<'_>, log: bool) -> PyResult<()> {
        let service = self.service.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let serve = async move { run_scheduler(service, stop_rx, log).await };
        block_interruptible(
            py,
            serve,
            move || {
                let _ = stop_tx.send(true);
            },
            Duration::from_secs(10),
        )
    }

    /// The runner process's main loop (see `notebook_executor._runner`); with
    /// `warm_kernel`, a runner of the warm pool.
    #[pyo3(signature = (runner_id, warm_kernel=None, pool_size=1, idle_seconds=1800.0, keeper=None, stay_seconds=0.0))]
    #[allow(clippy::too_many_arguments)]
    fn run_runner(
        &self,
        py: Python<'_>,
        runner_id: String,
        warm_kernel: Option<String>,
        pool_size: i64,
        idle_seconds: f64,
        keeper: Option<std::path::PathBuf>,
        stay_seconds: f64,
    ) -> PyResult<()> {
        let service = self.service.clone();
        let concurrency = self.concurrency;
        let warm = warm_kernel.map(|kernel| WarmOptions {
            kernel,
            pool_size,
            idle: Duration::try_from_secs_f64(idle_seconds).unwrap_or(Duration::MAX),
            stay: Duration::try_from_secs_f64(stay_seconds).unwrap_or(Duration::ZERO),
            keeper: keeper.unwrap_or_default(),
        });
        block(py, async move {
            run_runner(service, runner_id, concurrency, warm).await
        })
    }
}

/// The next `count` run times of a cron expression in a zone, as RFC 3339 text with the
/// zone's offset (for the submit dialog's preview). Raises InvalidScheduleError.
#[pyfunction]
#[pyo3(signature = (cron_schedule, time_zone="UTC", count=3))]
pub fn schedule_preview(
    py: Python<'_>,
    cron_schedule: &str,
    time_zone: &str,
    count: usize,
) -> PyResult<Vec<String>> {
    let cron = crate::schedule::CronSchedule::parse(cron_schedule, time_zone)
        .map_err(|e| to_pyerr(py, e))?;
    let mut t = jiff::Timestamp::now();
    let mut out = Vec::new();
    while out.len() < count.min(100) {
        let Some(next) = cron.next_after(t) else {
            break;
        };
        out.push(
            next.to_zoned(cron.time_zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        );
        t = next;
    }
    Ok(out)
}
