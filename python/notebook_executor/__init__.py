"""notebook-executor: run Jupyter notebooks in the background, once or on a schedule.

The work is done by a Rust core (:mod:`notebook_executor._core`); this package is its
Python face.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from . import _core
from ._env import python_env
from .executor import AsyncExecutor, Execution, Executor, LastExecution, Logs, Page, Schedule
from .errors import (
    CancelledError,
    CellExecutionError,
    ConflictError,
    CredentialsError,
    ExecutionTimeoutError,
    InvalidScheduleError,
    KernelDiedError,
    KernelNotFoundError,
    NotebookExecutorError,
    NotebookFormatError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
    ResourceError,
    StoreError,
    UnavailableError,
    ValidationError,
)

__version__ = _core.__version__


def execute_notebook(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    parameters: Mapping[str, Any] | None = None,
    kernel_name: str | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    progress: bool = False,
    log_output: bool = False,
    allow_errors: bool = False,
    skip_cells_with_tag: str = "skip-execution",
) -> dict:
    """Run a notebook in the foreground, papermill-style, and return the executed notebook.

    ``input_path`` and ``output_path`` are local paths, ``file://`` or ``gs://`` URIs (Cloud
    Storage: see the README for credentials and ``STORAGE_EMULATOR_HOST``).

    ``parameters`` are injected in a cell tagged ``injected-parameters`` after the cell
    tagged ``parameters``. The executed notebook is written to ``output_path`` after
    every cell (atomically; to Cloud Storage at most every
    ``NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL`` seconds, 5 by default, and at the end). ``cwd`` is the kernel's working directory (default: the
    notebook's folder). ``timeout`` bounds the whole run and ``cell_timeout`` each cell,
    in seconds (a value beyond a century means no limit). Cells tagged
    ``skip_cells_with_tag`` are not run, as nbclient. On a failing cell the partial
    notebook is written with papermill's error banner and :class:`CellExecutionError` is
    raised (unless ``allow_errors``).
    Ctrl-C stops the run and its kernel.
    """
    return json.loads(_execute(**locals(), return_notebook=True))


def _execute(input_path, output_path, parameters, kernel_name, cwd, timeout, cell_timeout, progress,
             log_output, allow_errors, return_notebook, status=None,
             skip_cells_with_tag="skip-execution", recorded_input_path=None) -> str | None:
    return _core.execute_notebook(
        os.fspath(input_path),
        None if output_path is None else os.fspath(output_path),
        dict(parameters) if parameters is not None else None,
        kernel_name,
        None if cwd is None else os.fspath(cwd),
        timeout,
        cell_timeout,
        progress,
        log_output,
        allow_errors,
        skip_cells_with_tag,
        python_env(),
        return_notebook,
        status,
        recorded_input_path,
    )


def parse_parameters(text: str) -> dict:
    """Parse the parameter string ``optimizer="SGD",learning_rate=0.01`` into a dict."""
    return _core.parse_parameter_string(text)


def schedule_preview(cron_schedule: str, time_zone: str = "UTC", count: int = 3) -> list[str]:
    """The next ``count`` run times of a cron expression in an IANA zone, as RFC 3339 text
    with the zone's offset. Raises :class:`InvalidScheduleError`."""
    return _core.schedule_preview(cron_schedule, time_zone, count)


def notebook_parameters(path: str | os.PathLike) -> list[dict]:
    """The parameters cell of a notebook: ``[{name, type, default, source, help}]``."""
    return _core.notebook_parameters(os.fspath(path))


def _jupyter_server_extension_points():
    """The Jupyter server extension (imported only when the server loads it)."""
    from .app import NotebookExecutor

    return [{"module": "notebook_executor.app", "app": NotebookExecutor}]


def list_kernels() -> list[dict]:
    """The kernelspecs this interpreter sees: ``[{name, display_name, language, resource_dir}]``."""
    return _core.list_kernelspecs(python_env())


__all__ = [
    "execute_notebook",
    "Executor",
    "AsyncExecutor",
    "Execution",
    "Page",
    "Logs",
    "Schedule",
    "LastExecution",
    "ValidationError",
    "StoreError",
    "parse_parameters",
    "notebook_parameters",
    "schedule_preview",
    "list_kernels",
    "NotebookExecutorError",
    "NotebookFormatError",
    "ParameterError",
    "KernelNotFoundError",
    "KernelDiedError",
    "CellExecutionError",
    "ExecutionTimeoutError",
    "NotFoundError",
    "ConflictError",
    "InvalidScheduleError",
    "CancelledError",
    "ResourceError",
    "PermissionDeniedError",
    "CredentialsError",
    "UnavailableError",
]
