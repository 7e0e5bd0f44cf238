"""The execution service: submit notebooks to run in the background, watch, cancel,
delete and import their results. Records live in the store (SQLite by default, or
PostgreSQL); runs happen in runner processes, so they outlive the submitting process."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from . import _core
from ._env import python_env

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


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str | None = None


def _spec(input_path, parameters, display_name, fields_: Mapping[str, Any]) -> str:
    unknown = set(fields_) - set(_SPEC_FIELDS)
    if unknown:
        raise TypeError(f"unknown execution fields: {', '.join(sorted(unknown))}")
    spec = {k: v for k, v in fields_.items() if v is not None}
    spec["input_notebook"] = os.path.abspath(os.fspath(input_path))
    if parameters is not None:
        spec["parameters"] = dict(parameters)
    if display_name is not None:
        spec["display_name"] = display_name
    return json.dumps(spec, allow_nan=True)


class Executor:
    """Submits and manages background executions.

    ``store`` is a ``sqlite://`` path or a ``postgresql://`` URL (default:
    ``NOTEBOOK_EXECUTOR_STORE``, else ``{jupyter_data_dir}/notebook_executor/store.sqlite``).
    ``concurrency`` limits runs at once (default: the number of cores).
    """

    def __init__(self, store: str | None = None, *, concurrency: int | None = None, output_dir: str | None = None):
        self._core = _core.ExecutorCore(store, python_env(), concurrency, output_dir)

    @property
    def store_url(self) -> str:
        return self._core.store_url

    def submit(self, input_path, parameters: Mapping[str, Any] | None = None, display_name: str | None = None,
               **execution_fields) -> Execution:
        """Validate, snapshot the notebook and queue it; returns at once."""
        return Execution._from_json(self._core.submit(_spec(input_path, parameters, display_name, execution_fields)))

    def get(self, id: str) -> Execution:
        return Execution._from_json(self._core.get(id))

    def list(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
             page_token: str | None = None) -> Page:
        """Newest first; pass ``next_page_token`` back as ``page_token`` for the next page."""
        items, token = self._core.list(state, schedule_id, page_size, page_token)
        return Page([Execution._from_dict(d) for d in json.loads(items)], token)

    def wait(self, id: str, timeout: float | None = None) -> Execution:
        """Until the execution is SUCCEEDED, FAILED, CANCELLED or EXPIRED; raises
        ExecutionTimeoutError after ``timeout`` seconds."""
        return Execution._from_json(self._core.wait(id, timeout))

    def cancel(self, id: str) -> Execution:
        return Execution._from_json(self._core.cancel(id))

    def delete(self, id: str, keep_outputs: bool = False) -> None:
        self._core.delete(id, keep_outputs)

    def import_result(self, id: str, dest_dir: str | os.PathLike = "imported_notebook_jobs") -> str:
        """Copy the executed notebook into ``dest_dir`` (never over a file); returns its path."""
        return self._core.import_result(id, os.fspath(dest_dir))

    def purge(self, older_than_days: float | None = None, keep_per_schedule: int | None = None) -> int:
        """Retention: delete finished executions (with their outputs) that ended more than
        ``older_than_days`` ago, or beyond the newest ``keep_per_schedule`` of each schedule.
        Returns how many were deleted."""
        return self._core.purge(older_than_days, keep_per_schedule)


class AsyncExecutor:
    """:class:`Executor` with awaitable methods: asyncio awaitables of the Rust core's
    futures (pyo3-async-runtimes), so the event loop (e.g. Jupyter's) never blocks."""

    def __init__(self, store: str | None = None, *, concurrency: int | None = None, output_dir: str | None = None):
        self._core = _core.ExecutorCore(store, python_env(), concurrency, output_dir)

    @property
    def store_url(self) -> str:
        return self._core.store_url

    async def submit(self, input_path, parameters: Mapping[str, Any] | None = None, display_name: str | None = None,
                     **execution_fields) -> Execution:
        spec = _spec(input_path, parameters, display_name, execution_fields)
        return Execution._from_json(await self._core.submit_async(spec))

    async def get(self, id: str) -> Execution:
        return Execution._from_json(await self._core.get_async(id))

    async def list(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
                   page_token: str | None = None) -> Page:
        items, token = await self._core.list_async(state, schedule_id, page_size, page_token)
        return Page([Execution._from_dict(d) for d in json.loads(items)], token)

    async def wait(self, id: str, timeout: float | None = None) -> Execution:
        return Execution._from_json(await self._core.wait_async(id, timeout))

    async def cancel(self, id: str) -> Execution:
        return Execution._from_json(await self._core.cancel_async(id))

    async def delete(self, id: str, keep_outputs: bool = False) -> None:
        await self._core.delete_async(id, keep_outputs)

    async def import_result(self, id: str, dest_dir: str | os.PathLike = "imported_notebook_jobs") -> str:
        return await self._core.import_result_async(id, os.fspath(dest_dir))
