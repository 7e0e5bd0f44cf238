"""The execution service: submit notebooks to run in the background, watch, cancel,
delete and import their results, and run them on cron schedules. Records live in the
store (SQLite by default, or PostgreSQL); runs happen in runner processes, so they outlive
the submitting process; schedules fire from any process running the scheduler
(``notebook-executor serve``, or the Jupyter server extension)."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from . import _core
from ._env import python_env
from .errors import ParameterError, ValidationError

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"})

_SPEC_FIELDS = (
    "display_name", "input_notebook", "parameters", "kernel_name", "environment", "backend", "machine_type",
    "accelerator_type", "accelerator_count", "region", "output_location", "service_account", "network", "labels",
    "timeout_seconds", "cell_timeout_seconds", "allow_errors", "idempotency_token", "schedule_id", "scheduled_time",
)


@dataclass(frozen=True)
class Progress:
    cells_total: int = 0
    cells_done: int = 0
    current_cell: int | None = None


@dataclass(frozen=True)
class Execution:
    """One run of one notebook (SPEC's fields; times are RFC 3339 UTC strings)."""

    id: str
    display_name: str
    input_notebook: str
    state: str
    state_message: str = ""
    #: What kind of failure ended the run (FAILED or EXPIRED): "cell_error", "kernel_died",
    #: "kernel_not_found" or "timeout"; "" otherwise, or when the platform failed it (a job
    #: that could not start, a runner that died). ``errors.failure_class`` maps it to the
    #: exception class, whose ``exit_code`` the CLI's ``submit --wait`` returns.
    failure_kind: str = ""
    parameters: dict = field(default_factory=dict)
    kernel_name: str = ""
    environment: str = ""
    backend: str = "local"
    machine_type: str = ""
    accelerator_type: str = ""
    accelerator_count: int = 0
    region: str = ""
    output_location: str = ""
    service_account: str = ""
    network: str = ""
    labels: dict = field(default_factory=dict)
    timeout_seconds: float | None = None
    cell_timeout_seconds: float | None = None
    allow_errors: bool = False
    idempotency_token: str | None = None
    schedule_id: str | None = None
    scheduled_time: str | None = None
    create_time: str = ""
    start_time: str | None = None
    end_time: str | None = None
    update_time: str = ""
    progress: Progress = field(default_factory=Progress)
    output_notebook_uri: str = ""
    output_html_uri: str = ""
    backend_job_id: str = ""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def links(self) -> list[dict]:
        """Where its job can be seen outside JupyterLab (``[{"label", "url"}]``)."""
        return job_links(self.backend, self.backend_job_id)

    @classmethod
    def _from_json(cls, text: str) -> "Execution":
        return cls._from_dict(json.loads(text))

    @classmethod
    def _from_dict(cls, data: dict) -> "Execution":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["progress"] = Progress(**data.get("progress", {}))
        return cls(**data)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["progress"] = dict(vars(self.progress))
        return out


_VERTEX_JOB = re.compile(r"^projects/([^/]+)/locations/([^/]+)/customJobs/([^/]+)$")


def job_links(backend: str, backend_job_id: str) -> list[dict]:
    """The Google Cloud console's pages of a Vertex AI job: the job, and its logs."""
    match = _VERTEX_JOB.match(backend_job_id or "") if backend == "vertex" else None
    if not match:
        return []
    project, region, job = (urllib.parse.quote(part, safe="") for part in match.groups())
    logs_query = urllib.parse.quote(f'resource.type="ml_job"\nresource.labels.job_id="{job}"', safe="")
    return [
        {"label": "Vertex AI job",
         "url": f"https://console.cloud.google.com/vertex-ai/locations/{region}/training/{job}/cpu?project={project}"},
        {"label": "Logs", "url": f"https://console.cloud.google.com/logs/query;query={logs_query}?project={project}"},
    ]


@dataclass(frozen=True)
class Logs:
    """What an execution's run has printed so far (the last MiB of it). ``source`` is
    ``"job"`` for the logs a remote engine keeps of the job's process (Ray), ``"notebook"``
    for the notebook's own stream output and errors (the other backends)."""

    source: str
    text: str

    @classmethod
    def _from_json(cls, text: str) -> "Logs":
        return cls(**json.loads(text))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str | None = None


@dataclass(frozen=True)
class LastExecution:
    id: str
    state: str


@dataclass(frozen=True)
class Schedule:
    """A notebook run on a cron schedule (SPEC's fields). ``next_run_time`` is None while
    paused; ``execution_template`` holds the submission fields of each run."""

    id: str
    display_name: str
    cron_schedule: str
    time_zone: str
    state: str
    missed_runs: str
    execution_template: dict
    create_time: str
    update_time: str
    next_run_time: str | None = None
    last_execution: LastExecution | None = None

    @classmethod
    def _from_json(cls, text: str) -> "Schedule":
        return cls._from_dict(json.loads(text))

    @classmethod
    def _from_dict(cls, data: dict) -> "Schedule":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        if data.get("last_execution"):
            data["last_execution"] = LastExecution(**data["last_execution"])
        return cls(**data)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["last_execution"] = dict(vars(self.last_execution)) if self.last_execution else None
        return out


_SCHEDULE_FIELDS = ("display_name", "cron_schedule", "time_zone", "missed_runs")


def _template(input_path, parameters, display_name, fields_: Mapping[str, Any]) -> dict:
    unknown = set(fields_) - set(_SPEC_FIELDS)
    if unknown:
        raise TypeError(f"unknown execution fields: {', '.join(sorted(unknown))}")
    spec = {k: v for k, v in fields_.items() if v is not None}
    if input_path is not None:
        spec["input_notebook"] = _location(input_path)
    if parameters is not None:
        if not isinstance(parameters, Mapping) or not all(isinstance(name, str) for name in parameters):
            raise ParameterError("parameters: give a mapping of names (strings) to values")
        spec["parameters"] = dict(parameters)
    if display_name is not None:
        spec["display_name"] = display_name
    return spec


def _location(path) -> str:
    """A local path made absolute and real (runs happen in other processes, and a schedule
    keeps running the file it was made with, whatever links change later); URIs as they are."""
    text = os.fspath(path)
    return text if "://" in text else os.path.realpath(text)


def _spec(input_path, parameters, display_name, fields_: Mapping[str, Any]) -> str:
    return _json(_template(input_path, parameters, display_name, fields_))


def _check_parameters(parameters: Mapping[str, Any]) -> None:
    for name, value in dict(parameters).items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {name}: {value!r} cannot be passed to a background run (give JSON "
                                 "data: numbers, strings, booleans, None, lists and dicts; no NaN or infinity)",
                                 name=name) from None


def _json(fields: Mapping[str, Any]) -> str:
    """A submission as the core takes it: JSON, which holds no NaN, infinity or Python
    object; a value that cannot travel is refused here, naming its field or parameter."""
    _check_parameters(fields.get("parameters") or {})
    for field_name, value in fields.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValidationError(f"{field_name}: {value!r} is not a value this field takes", field=field_name) from None
    return json.dumps(fields)


def _schedule_fields(input_path, cron_schedule, time_zone, display_name, parameters, missed_runs,
                     execution_fields) -> str:
    fields_ = {"cron_schedule": cron_schedule, "time_zone": time_zone, "display_name": display_name,
               "missed_runs": missed_runs,
               "execution_template": _template(input_path, parameters, display_name, execution_fields)}
    return _json({k: v for k, v in fields_.items() if v is not None})


def _schedule_changes(changes: Mapping[str, Any]) -> str:
    """Schedule fields as given; execution fields go into ``execution_template`` (the core
    merges them into the template)."""
    out = {k: changes[k] for k in _SCHEDULE_FIELDS if k in changes}
    template_changes = {k: v for k, v in changes.items() if k not in _SCHEDULE_FIELDS}
    if template_changes:
        input_path = template_changes.pop("input_notebook", None)
        parameters = template_changes.pop("parameters", None)
        out["execution_template"] = _template(input_path, parameters, None, template_changes)
    return _json(out)


def _page(convert):
    def to_page(result) -> Page:
        items, token = result
        return Page([convert(d) for d in json.loads(items)], token)

    return to_page


class _Operations:
    """The operations of :class:`Executor` and :class:`AsyncExecutor`, each written once:
    ``_call`` runs the core's method blocking (GIL released) or as an awaitable."""

    _blocking: bool

    def __init__(self, store: str | None = None, *, concurrency: int | None = None, output_dir: str | None = None,
                 backends: Mapping[str, Any] | None = None, create_store: bool = True):
        config = json.dumps(dict(backends)) if backends is not None else None
        self._core = _core.ExecutorCore(store, python_env(), concurrency, output_dir, config, create_store)

    def _call(self, convert, method, *args):
        pending = method(*args, blocking=self._blocking)
        if self._blocking:
            return convert(pending)

        async def finish():
            return convert(await pending)

        return finish()

    @property
    def store_url(self) -> str:
        return self._core.store_url

    def submit(self, input_path, parameters: Mapping[str, Any] | None = None, display_name: str | None = None,
               **execution_fields) -> Execution:
        """Validate, snapshot the notebook and queue it; returns at once. ``input_path`` and
        ``output_location`` may be local paths, ``file://`` or ``gs://`` URIs."""
        return self._call(Execution._from_json, self._core.submit,
                          _spec(input_path, parameters, display_name, execution_fields))

    def get(self, id: str) -> Execution:
        return self._call(Execution._from_json, self._core.get, id)

    def list(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
             page_token: str | None = None, region: str | None = None) -> Page:
        """Newest first; pass ``next_page_token`` back as ``page_token`` for the next page.
        ``region``: only the executions of remote jobs in that region."""
        return self._call(_page(Execution._from_dict), self._core.list, state, schedule_id, page_size, page_token,
                          region)

    def wait(self, id: str, timeout: float | None = None) -> Execution:
        """Until the execution is SUCCEEDED, FAILED, CANCELLED or EXPIRED; raises
        ExecutionTimeoutError after ``timeout`` seconds."""
        return self._call(Execution._from_json, self._core.wait, id, timeout)

    def cancel(self, id: str) -> Execution:
        return self._call(Execution._from_json, self._core.cancel, id)

    def delete(self, id: str, keep_outputs: bool = False) -> None:
        return self._call(_none, self._core.delete, id, keep_outputs)

    def logs(self, id: str) -> Logs:
        """What the run has printed so far: a Ray job's logs, else the notebook's stream
        output and errors."""
        return self._call(Logs._from_json, self._core.logs, id)

    def import_result(self, id: str, dest_dir: str | os.PathLike = "imported_notebook_jobs") -> str:
        """Copy the executed notebook into ``dest_dir`` (a folder or ``gs://`` prefix; never
        over a file); returns its path or URI."""
        return self._call(str, self._core.import_result, id, os.fspath(dest_dir))

    # Schedules

    def create_schedule(self, input_path, cron_schedule: str, time_zone: str = "UTC", *,
                        display_name: str | None = None, parameters: Mapping[str, Any] | None = None,
                        missed_runs: str = "run_once", **execution_fields) -> Schedule:
        """Run ``input_path`` at each slot of ``cron_schedule`` (5 fields) in ``time_zone``
        (IANA). The notebook and fields are checked as a submission is; each run reads the
        notebook as it is at that time. ``missed_runs``: ``skip``, ``run_once`` or ``run_all``."""
        return self._call(Schedule._from_json, self._core.create_schedule, _schedule_fields(
            input_path, cron_schedule, time_zone, display_name, parameters, missed_runs, execution_fields))

    def get_schedule(self, id: str) -> Schedule:
        return self._call(Schedule._from_json, self._core.get_schedule, id)

    def list_schedules(self, state: str | None = None, page_size: int = 50, page_token: str | None = None) -> Page:
        return self._call(_page(Schedule._from_dict), self._core.list_schedules, state, page_size, page_token)

    def update_schedule(self, id: str, **fields_) -> Schedule:
        """Change ``display_name``, ``cron_schedule``, ``time_zone``, ``missed_runs`` or any
        execution field (``parameters``, ``input_notebook``...); takes effect for the next slot."""
        return self._call(Schedule._from_json, self._core.update_schedule, id, _schedule_changes(fields_))

    def pause_schedule(self, id: str) -> Schedule:
        return self._call(Schedule._from_json, self._core.pause_schedule, id)

    def resume_schedule(self, id: str) -> Schedule:
        """Fires from the next slot on; slots of the paused period are not replayed."""
        return self._call(Schedule._from_json, self._core.resume_schedule, id)

    def run_schedule_now(self, id: str, parameters: Mapping[str, Any] | None = None) -> Execution:
        """An execution from the schedule's template now; ``parameters`` override the template's."""
        params = None
        if parameters is not None:
            _check_parameters(parameters)
            params = json.dumps(dict(parameters))
        return self._call(Execution._from_json, self._core.run_schedule_now, id, params)

    def delete_schedule(self, id: str) -> None:
        """Deletes the schedule; its executions are kept."""
        return self._call(_none, self._core.delete_schedule, id)


def _none(_result) -> None:
    return None


class Executor(_Operations):
    """Submits and manages background executions.

    ``store`` is a ``sqlite://`` path or a ``postgresql://`` URL (default:
    ``NOTEBOOK_EXECUTOR_STORE``, else ``{jupyter_data_dir}/notebook_executor/store.sqlite``).
    ``concurrency`` limits runs at once (default: the number of cores). ``output_dir``: where
    results go by default (a folder or ``gs://`` prefix). ``backends``: settings of the
    backends: the local one's warm pool, used while ``serve()`` runs (``{"local": {"warm_kernels":
    {"python3": 1}, "warm_idle_seconds": 1800}}``, these are the defaults), and the remote ones, e.g. ``{"vertex": {"regions": ["europe-west4"], "container_images": [...]},
    "ray": {"address": "http://head:8265", "machine_types": {"small": {"num_cpus": 2}}}}``
    (what is not given comes from ``RAY_ADDRESS`` and the ``NOTEBOOK_EXECUTOR_VERTEX_*`` and
    ``NOTEBOOK_EXECUTOR_RAY_*`` variables; see the README).
    ``create_store=False`` opens only an existing store (``NotFoundError`` otherwise): reading
    never creates one.
    """

    _blocking = True

    def purge(self, older_than_days: float | None = None, keep_per_schedule: int | None = None) -> int:
        """Retention: delete finished executions (with their outputs) that ended more than
        ``older_than_days`` ago, or beyond the newest ``keep_per_schedule`` of each schedule.
        Returns how many were deleted."""
        return self._core.purge(older_than_days, keep_per_schedule)

    def fire_due(self, now: str | None = None) -> list[Execution]:
        """One scheduler step: create the executions of every slot due at ``now`` (RFC 3339;
        default: the clock) under each schedule's missed-runs rule, and start them. Safe
        alongside running schedulers (each slot fires once). ``serve`` does this on time."""
        return [Execution._from_dict(d) for d in json.loads(self._core.fire_due(now))]

    def serve(self, log: bool = True) -> None:
        """Run the scheduler and the dispatcher until interrupted (what ``notebook-executor serve`` does)."""
        self._core.serve(log)


class AsyncExecutor(_Operations):
    """:class:`Executor` with awaitable methods: asyncio awaitables of the Rust core's
    futures (pyo3-async-runtimes), so the event loop (e.g. Jupyter's) never blocks."""

    _blocking = False
