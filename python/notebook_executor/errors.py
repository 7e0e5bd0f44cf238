"""The exceptions of notebook-executor. All derive from :class:`NotebookExecutorError`.

Each class carries the CLI exit code for its kind of failure (``exit_code``).
"""

from __future__ import annotations


class NotebookExecutorError(Exception):
    """Base class of every notebook-executor error."""

    exit_code = 2

    def __init__(self, message: str = "", **attributes):
        super().__init__(message)
        self.message = message
        for name, value in attributes.items():
            setattr(self, name, value)


class NotebookFormatError(NotebookExecutorError, ValueError):
    """The file is not a notebook we can read (bad JSON, unknown nbformat, bad cells).

    ``path`` names the file.
    """

    path: str | None = None


class ParameterError(NotebookExecutorError, ValueError):
    """A parameter cannot be parsed, named as a variable, or expressed in the kernel's
    language. (A string that does not convert to its default's type is passed as the string,
    with a warning.) ``name`` is the parameter's name when known."""

    name: str | None = None


class KernelNotFoundError(NotebookExecutorError, LookupError):
    """No kernelspec of that name. ``name``, ``available`` (names) and ``searched`` (dirs)."""

    exit_code = 3
    name: str = ""
    available: list = []
    searched: list = []


class KernelDiedError(NotebookExecutorError):
    """The kernel failed to start or died during the run. ``cell_index`` is the cell that
    was running (None during startup)."""

    exit_code = 3
    cell_index: int | None = None


class CellExecutionError(NotebookExecutorError):
    """A cell raised. ``cell_index``, ``execution_count``, ``ename``, ``evalue`` and
    ``traceback`` (a list of lines, as the kernel sent them)."""

    exit_code = 1
    cell_index: int = -1
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""
    traceback: list = []


class ExecutionTimeoutError(NotebookExecutorError, TimeoutError):
    """A cell or the whole run went past its timeout. ``cell_index`` is the cell that was
    running."""

    exit_code = 4
    cell_index: int | None = None


class CancelledError(NotebookExecutorError):
    """The run was cancelled (Ctrl-C in the foreground, or a cancel while it ran)."""

    exit_code = 130


class NotFoundError(NotebookExecutorError, LookupError):
    """A file, execution or schedule does not exist. ``path`` for files."""

    exit_code = 5
    path: str | None = None


class ConflictError(NotebookExecutorError):
    """The request conflicts with the current state (e.g. a reused idempotency token)."""


class ValidationError(NotebookExecutorError, ValueError):
    """A submission field is invalid (unknown backend or machine type, bad output location,
    bad timeout...). ``field`` names it."""

    field: str = ""


class StoreError(NotebookExecutorError):
    """The state store cannot be opened or written. ``url`` names it."""

    url: str = ""


class ResourceError(NotebookExecutorError):
    """A file, Cloud Storage object or bucket, or cloud service could not be used (a full
    disk, say). ``resource`` names it (a path, a ``gs://`` URI...)."""

    resource: str = ""


class PermissionDeniedError(ResourceError, PermissionError):
    """Not allowed: a read-only folder, or a bucket the credentials may not write to."""


class CredentialsError(ResourceError):
    """No Google credentials were found, or they were refused. The message says what to set
    (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``)."""


class UnavailableError(ResourceError):
    """A service could not be reached, or kept failing after retries (Cloud Storage, a
    backend's API)."""


class InvalidScheduleError(NotebookExecutorError, ValueError):
    """A cron expression or time zone is invalid. ``field`` (``cron_schedule`` or
    ``time_zone``), ``position``: the 1-based column of the bad cron field, when known."""

    field: str = ""
    position: int | None = None


__all__ = [
    "NotebookExecutorError",
    "NotebookFormatError",
    "ParameterError",
    "KernelNotFoundError",
    "KernelDiedError",
    "CellExecutionError",
    "ExecutionTimeoutError",
    "CancelledError",
    "NotFoundError",
    "ConflictError",
    "InvalidScheduleError",
    "ValidationError",
    "StoreError",
    "ResourceError",
    "PermissionDeniedError",
    "CredentialsError",
    "UnavailableError",
]
