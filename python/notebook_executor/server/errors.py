"""REST errors: every failure becomes ``{"error": {"code", "message"}}`` with the status
of its kind, decided here and nowhere else."""

from __future__ import annotations

from tornado.web import HTTPError

from .. import errors as nx_errors


class BadRequest(Exception):
    """A request the handlers refuse before calling the core (bad JSON, bad query, paths)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TooLarge(BadRequest):
    """A request larger than the server takes (413)."""


# (exception class, HTTP status, code); the first match wins, so subclasses come first.
_DOMAIN = (
    (TooLarge, 413, "too_large"),
    (BadRequest, 400, "bad_request"),
    (nx_errors.NotFoundError, 404, "not_found"),
    (nx_errors.PermissionDeniedError, 403, "permission_denied"),
    (nx_errors.CredentialsError, 503, "no_credentials"),
    (nx_errors.UnavailableError, 503, "unavailable"),
    (nx_errors.ConflictError, 409, "conflict"),
    (nx_errors.InvalidScheduleError, 400, "invalid_schedule"),
    (nx_errors.ParameterError, 400, "invalid_parameters"),
    (nx_errors.NotebookFormatError, 400, "invalid_notebook"),
    (nx_errors.KernelNotFoundError, 400, "kernel_not_found"),
    (nx_errors.ValidationError, 400, "invalid_argument"),
    (nx_errors.StoreError, 503, "store_unavailable"),
    (nx_errors.CancelledError, 409, "cancelled"),
    # What a foreground run raises (no route runs one today): classified all the same.
    (nx_errors.CellExecutionError, 422, "cell_error"),
    (nx_errors.ExecutionTimeoutError, 408, "timeout"),
    (nx_errors.KernelDiedError, 503, "kernel_died"),
    # A server-side failure to read or write (a full disk): said, and a server error.
    (nx_errors.ResourceError, 500, "io_error"),
)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "too_large"}


def field_of(error: BaseException) -> str | None:
    """The request field an error is about, so that a form can show it next to that field."""
    if isinstance(error, nx_errors.ParameterError):
        return "parameters"
    if isinstance(error, nx_errors.KernelNotFoundError):
        return "kernel_name"
    field = getattr(error, "field", None)
    return field or None


def classify(error: BaseException) -> dict | None:
    """``{"status", "code", "message", "field"?}`` of an expected error; None for a bug (a 500)."""
    for cls, status, code in _DOMAIN:
        if isinstance(error, cls):
            out = {"status": status, "code": code, "message": str(getattr(error, "message", "") or error)}
            field = field_of(error)
            if field:
                out["field"] = field
            return out
    if isinstance(error, HTTPError):
        return {"status": error.status_code, "code": _HTTP_CODES.get(error.status_code, "error"),
                "message": error.log_message or error.reason or ""}
    return None
