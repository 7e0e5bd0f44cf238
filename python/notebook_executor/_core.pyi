"""The Rust core of notebook-executor (built by maturin from ``src/``).

Use the wrappers of :mod:`notebook_executor`; these functions take the raw arguments the
wrappers prepare. Errors are raised as the classes of :mod:`notebook_executor.errors`.
"""

from typing import Any, TypedDict

__version__: str

class PythonEnv(TypedDict):
    """The interpreter's environment, for kernelspec discovery as jupyter_client does it."""

    prefix: str
    """``sys.prefix``: its ``share/jupyter`` is searched."""
    prefer_env: bool
    """Search the environment before the user data dir (inside a virtualenv/conda env)."""
    native_python: str | None
    """``sys.executable`` when ipykernel is importable: the native ``python3`` kernel."""
    executable: str
    """``sys.executable``: runs the runner processes."""

class KernelSpecInfo(TypedDict):
    name: str
    display_name: str
    language: str
    resource_dir: str | None

class NotebookParameter(TypedDict):
    name: str
    type: str | None
    """``int``, ``float``, ``str``, ``bool``, ``None``, ``list``, ``dict``; None if unknown."""
    default: Any
    """The default value when it is a literal, else None (see ``source``)."""
    source: str
    """The default as written in the cell."""
    help: str
    """The comment after the assignment."""

def execute_notebook(
    input_path: str,
    output_path: str | None,
    parameters: dict[str, Any] | None,
    kernel_name: str | None,
    cwd: str | None,
    timeout: float | None,
    cell_timeout: float | None,
    progress: bool,
    log_output: bool,
    allow_errors: bool,
    env: PythonEnv,
    return_notebook: bool = True,
) -> str | None:
    """Run a notebook in the foreground and return the executed notebook as JSON text
    (None when ``return_notebook`` is false).

    Inputs are checked (notebook, kernel, parameters) before anything is written. The GIL
    is released while the kernel runs; a pending signal (Ctrl-C) stops the run, kills the
    kernel and is raised. Parameter warnings are issued as ``UserWarning``.
    """

def parse_parameter_string(text: str) -> dict[str, Any]:
    """Parse ``optimizer="SGD",learning_rate=0.01``: unquoted values typed as papermill's
    ``-p`` does, quoted values are strings (they may hold ``,`` and ``=``), ``[...]`` and
    ``{...}`` are JSON. Raises ParameterError naming the position of a mistake."""

def parse_typed_value(text: str) -> Any:
    """papermill's ``-p`` typing: True/False/None (also lower case), int, float, else str."""

def notebook_parameters(path: str, language: str | None = None) -> list[NotebookParameter]:
    """The names and defaults of the notebook's cell tagged ``parameters``."""

def list_kernelspecs(env: PythonEnv) -> list[KernelSpecInfo]:
    """Every kernelspec visible from this interpreter, by name."""

def schedule_preview(cron_schedule: str, time_zone: str = "UTC", count: int = 3) -> list[str]:
    """The next ``count`` run times (RFC 3339 with the zone's offset); raises InvalidScheduleError."""

class ExecutorCore:
    """The execution service over one store (see :class:`notebook_executor.Executor`).
    Records cross as JSON text. Blocking methods release the GIL; ``*_async`` methods return
    asyncio awaitables running on the module's tokio runtime."""

    def __init__(self, store: str | None, env: PythonEnv, concurrency: int | None = None,
                 output_dir: str | None = None) -> None:
        """Open (and migrate) the store: a ``sqlite://`` path or ``postgresql://`` URL; None:
        ``NOTEBOOK_EXECUTOR_STORE`` or the default SQLite file."""
    @property
    def store_url(self) -> str: ...
    def submit(self, spec_json: str) -> str:
        """Validate, snapshot, record QUEUED, start a runner if a slot is free."""
    def get(self, id: str) -> str: ...
    def list(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
             page_token: str | None = None) -> tuple[str, str | None]:
        """(JSON list of executions, next page token), newest first."""
    def cancel(self, id: str) -> str: ...
    def delete(self, id: str, keep_outputs: bool = False) -> None: ...
    def wait(self, id: str, timeout: float | None = None) -> str:
        """Until terminal; Ctrl-C interrupts the wait (not the execution)."""
    def import_result(self, id: str, dest_dir: str) -> str: ...
    def purge(self, older_than_days: float | None = None, keep_per_schedule: int | None = None) -> int: ...
    def dispatch(self) -> None:
        """Fail dead runners' executions; start a runner if work waits and a slot is free."""
    def run_runner(self, runner_id: str) -> None:
        """A runner process's main loop."""
    def submit_async(self, spec_json: str) -> Any: ...
    def get_async(self, id: str) -> Any: ...
    def list_async(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
                   page_token: str | None = None) -> Any: ...
    def wait_async(self, id: str, timeout: float | None = None) -> Any: ...
    def cancel_async(self, id: str) -> Any: ...
    def delete_async(self, id: str, keep_outputs: bool = False) -> Any: ...
    def import_result_async(self, id: str, dest_dir: str) -> Any: ...

    # Schedules: fields as JSON (display_name, cron_schedule, time_zone, missed_runs,
    # execution_template); records come back as JSON text.
    def create_schedule(self, fields_json: str) -> str:
        """Validates the cron (5 fields), the IANA zone and the template; returns the schedule."""
    def get_schedule(self, id: str) -> str: ...
    def list_schedules(self, state: str | None = None, page_size: int = 50,
                       page_token: str | None = None) -> tuple[str, str | None]: ...
    def update_schedule(self, id: str, fields_json: str) -> str:
        """Sets the given fields; a new cron or zone recomputes the next run."""
    def pause_schedule(self, id: str) -> str: ...
    def resume_schedule(self, id: str) -> str:
        """Enabled again from the next slot after now (no replay)."""
    def run_schedule_now(self, id: str, parameters_json: str | None = None) -> str:
        """Submits the template now (parameters merged over the template's); returns the execution."""
    def delete_schedule(self, id: str) -> None: ...
    def fire_due(self, now: str | None = None) -> str:
        """Creates the executions of the slots due at ``now`` (RFC 3339; default: the clock); JSON list."""
    def serve(self, log: bool = True) -> None:
        """Scheduler and dispatcher until interrupted (a raising signal handler stops it cleanly)."""
    def create_schedule_async(self, fields_json: str) -> Any: ...
    def get_schedule_async(self, id: str) -> Any: ...
    def list_schedules_async(self, state: str | None = None, page_size: int = 50,
                             page_token: str | None = None) -> Any: ...
    def update_schedule_async(self, id: str, fields_json: str) -> Any: ...
    def pause_schedule_async(self, id: str) -> Any: ...
    def resume_schedule_async(self, id: str) -> Any: ...
    def run_schedule_now_async(self, id: str, parameters_json: str | None = None) -> Any: ...
    def delete_schedule_async(self, id: str) -> Any: ...

class SchedulerTask:
    """The scheduler and dispatcher running on the module's runtime (``ServerCore.start_scheduler``)."""

    @property
    def running(self) -> bool: ...
    def stop(self, timeout: float = 10.0) -> None:
        """Asks it to stop after its current firing transaction; waits up to ``timeout`` seconds."""

class ServerCore:
    """What the Jupyter server extension needs beyond the Python API, over the same service
    as ``core``. Methods ending in ``_async`` return asyncio awaitables."""

    def __init__(self, core: ExecutorCore) -> None: ...
    def start_scheduler(self, log: bool = False) -> SchedulerTask:
        """Fires schedules and dispatches queued work in the background until stopped."""
    def backends(self) -> str:
        """JSON list of each backend's capabilities (name, machine/accelerator types, regions, output schemes)."""
    def result_html_async(self, id: str) -> Any:
        """The result page (HTML): the run's own once it ended, else the notebook as far as it got, with a notice."""
    def create_share_async(self, execution_id: str, token_hash: str, lifetime_seconds: float) -> Any:
        """Records a share link (the caller keeps the secret); JSON {id, execution_id, create_time, expire_time}."""
    def list_shares_async(self, execution_id: str) -> Any:
        """JSON list of the execution's live links."""
    def revoke_share_async(self, execution_id: str, share_id: str) -> Any: ...
    def shared_execution_async(self, token_hash: str) -> Any:
        """The execution (JSON) a live link shows; raises NotFoundError for revoked, expired or unknown links."""
    def changes_since_async(self, since: str, limit: int = 500) -> Any:
        """(executions JSON, schedules JSON, deletions JSON: [{kind, id, delete_time}]) written at or
        after ``since`` (RFC 3339), oldest first; deletions from any process."""
