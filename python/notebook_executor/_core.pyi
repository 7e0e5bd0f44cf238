"""The Rust core of notebook-executor (built by maturin from ``src/``).

Use the wrappers of :mod:`notebook_executor`; these functions take the raw arguments the
wrappers prepare. Errors are raised as the classes of :mod:`notebook_executor.errors`.
"""

from typing import Any, Awaitable, TypedDict

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
    skip_cells_with_tag: str | None,
    env: PythonEnv,
    return_notebook: bool = True,
    status: str | None = None,
    recorded_input_path: str | None = None,
) -> str | None:
    """Run a notebook in the foreground and return the executed notebook as JSON text
    (None when ``return_notebook`` is false).

    ``status``: where the run's progress and end state go as JSON (a remote job's status
    object). ``recorded_input_path``: the input path the output's papermill metadata
    records (a job's staged copy records the notebook that was submitted).

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
    Records cross as JSON text. Each operation is one method: with ``blocking=True`` it
    returns its result with the GIL released while it runs; with ``blocking=False`` an
    asyncio awaitable of it, running on the module's tokio runtime (``AsyncExecutor``)."""

    def __init__(self, store: str | None, env: PythonEnv, concurrency: int | None = None,
                 output_dir: str | None = None, backends_json: str | None = None) -> None:
        """Open (and migrate) the store: a ``sqlite://`` path or ``postgresql://`` URL; None:
        ``NOTEBOOK_EXECUTOR_STORE`` or the default SQLite file. ``output_dir``: the default
        output location (a folder or ``gs://`` prefix). ``backends_json``: the remote
        backends' settings, ``{"vertex": {...}, "ray": {...}}``."""
    @property
    def store_url(self) -> str: ...
    def submit(self, spec_json: str, blocking: bool = True) -> str | Awaitable[str]:
        """Validate (a ``gs://`` output location: the bucket exists and takes writes),
        snapshot, record QUEUED, start a runner if a slot is free."""
    def get(self, id: str, blocking: bool = True) -> str | Awaitable[str]: ...
    def list(self, state: str | None = None, schedule_id: str | None = None, page_size: int = 50,
             page_token: str | None = None, blocking: bool = True
             ) -> tuple[str, str | None] | Awaitable[tuple[str, str | None]]:
        """(JSON list of executions, next page token), newest first."""
    def cancel(self, id: str, blocking: bool = True) -> str | Awaitable[str]: ...
    def delete(self, id: str, keep_outputs: bool = False, blocking: bool = True) -> None | Awaitable[None]:
        """Removes the record, its snapshot, and its outputs (local or in Cloud Storage) unless ``keep_outputs``."""
    def wait(self, id: str, timeout: float | None = None, blocking: bool = True) -> str | Awaitable[str]:
        """Until terminal; blocking, Ctrl-C interrupts the wait (not the execution)."""
    def logs(self, id: str, blocking: bool = True) -> str | Awaitable[str]:
        """JSON ``{"source": "job" | "notebook", "text"}``: what the run printed so far (a Ray
        job's logs; else the notebook's stream output and errors), its last MiB."""
    def import_result(self, id: str, dest_dir: str, blocking: bool = True) -> str | Awaitable[str]:
        """Copies the executed notebook (wherever it is) into ``dest_dir`` (a folder or ``gs://``
        prefix), never over a file; returns the new file's path or URI."""
    def purge(self, older_than_days: float | None = None, keep_per_schedule: int | None = None) -> int: ...
    def dispatch(self) -> None:
        """Fail dead runners' executions; start a runner if work waits and a slot is free."""
    def run_runner(self, runner_id: str, warm_kernel: str | None = None, pool_size: int = 1,
                   idle_seconds: float = 1800.0, keeper: str | None = None, stay_seconds: float = 0.0) -> None:
        """A runner process's main loop. With ``warm_kernel``, a runner of the warm pool: it starts a
        kernel of that kernelspec before any work, waits with it (woken when work is queued), runs one
        execution on it, then warms another while fewer than ``pool_size`` wait, until no local work was
        submitted for ``idle_seconds`` (but not before ``stay_seconds``: warmed for a schedule's slot) or the
        process that keeps the pool has let go of its lock file ``keeper``."""

    # Schedules: fields as JSON (display_name, cron_schedule, time_zone, missed_runs,
    # execution_template); records come back as JSON text.
    def create_schedule(self, fields_json: str, blocking: bool = True) -> str | Awaitable[str]:
        """Validates the cron (5 fields), the IANA zone and the template; returns the schedule."""
    def get_schedule(self, id: str, blocking: bool = True) -> str | Awaitable[str]: ...
    def list_schedules(self, state: str | None = None, page_size: int = 50, page_token: str | None = None,
                       blocking: bool = True) -> tuple[str, str | None] | Awaitable[tuple[str, str | None]]: ...
    def update_schedule(self, id: str, changes_json: str, blocking: bool = True) -> str | Awaitable[str]:
        """Sets the given fields; ``execution_template`` fields are merged into the template
        (then checked whole); a new cron or zone recomputes the next run."""
    def pause_schedule(self, id: str, blocking: bool = True) -> str | Awaitable[str]: ...
    def resume_schedule(self, id: str, blocking: bool = True) -> str | Awaitable[str]:
        """Enabled again from the next slot after now (no replay)."""
    def run_schedule_now(self, id: str, parameters_json: str | None = None,
                         blocking: bool = True) -> str | Awaitable[str]:
        """Submits the template now (parameters merged over the template's); returns the execution."""
    def delete_schedule(self, id: str, blocking: bool = True) -> None | Awaitable[None]: ...
    def fire_due(self, now: str | None = None) -> str:
        """Creates the executions of the slots due at ``now`` (RFC 3339; default: the clock); JSON list."""
    def serve(self, log: bool = True) -> None:
        """Scheduler and dispatcher until interrupted (a raising signal handler stops it cleanly)."""

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
    def output_notebook_async(self, id: str) -> Any:
        """(the executed notebook's bytes, a file name), read where it is (local or Cloud
        Storage); NotFoundError while nothing was written."""
    def list_buckets_async(self) -> Any:
        """JSON list of the project's Cloud Storage buckets ``[{name, location, create_time}]``."""
    def create_bucket_async(self, name: str, location: str) -> Any:
        """Creates a bucket in the project; JSON of it. A taken name raises ConflictError."""
    def warm_pools_async(self) -> Any:
        """JSON by backend name of what it keeps ready: the local backend's ``{kernels: [{kernel, size, waiting,
        memory_bytes}], idle_seconds}``."""
    def default_output_dir(self) -> str:
        """The folder of results when a submission names no output location."""
    def result_html_async(self, id: str, owner_links: bool) -> Any:
        """The result page (HTML): the run's own once it ended, else the notebook as far as it got; its header says
        what ran and how it ended. ``owner_links``: with the links to download and import it (the owner's route)."""
    def create_share_async(self, execution_id: str, token_hash: str, lifetime_seconds: float) -> Any:
        """Records a share link (the caller keeps the secret); JSON {id, execution_id, create_time, expire_time}."""
    def list_shares_async(self, execution_id: str) -> Any:
        """JSON list of the execution's live links."""
    def revoke_share_async(self, execution_id: str, share_id: str) -> Any: ...
    def signed_url(self, execution_id: str, lifetime_seconds: int, include_notebook: bool = False,
                   blocking: bool = False) -> Any:
        """(An awaitable of; with ``blocking``) V4 signed URLs of a result in Cloud Storage (whole seconds, at most 7 days); JSON {url,
        expire_time, notebook_url?}. A local result raises ValidationError (field ``kind``), a run
        not ended ConflictError, a missing page NotFoundError, credentials that cannot sign
        CredentialsError."""
    def grant_bucket_access(self, execution_id: str, member: str, blocking: bool = False) -> Any:
        """(An awaitable of; with ``blocking``) grants ``member`` (an email, or user:/group:/serviceAccount:/domain:) roles/storage.objectViewer
        on the bucket of a result; JSON {bucket, member, role, changed, warning}."""
    def shared_execution_async(self, token_hash: str) -> Any:
        """The execution (JSON) a live link shows; raises NotFoundError for revoked, expired or unknown links."""
    def changes_since_async(self, since: str, limit: int = 500) -> Any:
        """(executions JSON, schedules JSON, deletions JSON: [{kind, id, delete_time}]) written at or
        after ``since`` (RFC 3339), oldest first; deletions from any process."""
