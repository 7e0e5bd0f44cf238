"""Shared fixtures for the notebook-executor Python tests.

Everything runs against a real ipykernel (`python3` kernelspec of the test environment). Nothing here
touches the network: kernels talk over loopback only.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from gcs import FakeGcs, FakeMetadataServer
from stores import PostgresServer

CORPUS = Path(__file__).resolve().parent / "notebooks"

# Every kernel started during this session (by us, nbclient, papermill or the CLI) inherits this
# marker, so that leftover kernels can be found even if they were re-parented to init.
SESSION_MARK = uuid.uuid4().hex
os.environ["NOTEBOOK_EXECUTOR_TEST_SESSION"] = SESSION_MARK

# Notebooks of the corpus that run to completion and must match nbclient.
VALID_NOTEBOOKS = [
    "streams.ipynb",
    "rich_outputs.ipynb",
    "display_updates.ipynb",
    "unicode.ipynb",
    "large_output.ipynb",
    "mixed_cells.ipynb",
    "no_kernelspec.ipynb",
    "v4_4_no_ids.ipynb",
    "parameters.ipynb",
    "cwd.ipynb",
]


# ------------------------------------------------------------------------------------------------
# Corpus
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A private copy of tests/notebooks (so outputs and edits never touch the repo)."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.out.ipynb"))
    return dest


# ------------------------------------------------------------------------------------------------
# Reference runners
# ------------------------------------------------------------------------------------------------


def to_plain(nb) -> dict:
    """A NotebookNode (or dict) as plain JSON data."""
    return json.loads(json.dumps(nb))


def run_nbclient(path, cwd=None, allow_errors=False, kernel_name=None, timeout=120) -> dict:
    """Execute `path` with nbclient (coalesce_streams=True) and return the executed notebook as plain
    JSON data (as nbformat would write it, then parsed)."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    kw = {}
    if kernel_name:
        kw["kernel_name"] = kernel_name
    client = NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=allow_errors,
        coalesce_streams=True,
        resources={"metadata": {"path": str(cwd or path.parent)}},
        **kw,
    )
    client.execute()
    return json.loads(nbformat.writes(nb))


@pytest.fixture
def nbclient_run():
    return run_nbclient


# ------------------------------------------------------------------------------------------------
# Normalization
# ------------------------------------------------------------------------------------------------


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _join(value):
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    return value


def normalize(nb, keep_ids=False) -> dict:
    """Comparable form of an executed notebook: drops timings, cell ids, nbclient's execution
    metadata and papermill metadata; joins multi-line strings (nbformat may store them as lists).
    Keeps cells, cell types, sources, other metadata, outputs (types, order, content) and
    execution counts."""
    nb = copy.deepcopy(to_plain(nb))
    nb.get("metadata", {}).pop("papermill", None)
    for cell in nb.get("cells", []):
        if not keep_ids:
            cell.pop("id", None)
        md = cell.setdefault("metadata", {})
        md.pop("papermill", None)
        md.pop("execution", None)
        if "source" in cell:
            cell["source"] = _join(cell["source"])
        for att in cell.get("attachments", {}).values():
            for k, v in list(att.items()):
                if not _is_json_mime(k):
                    att[k] = _join(v)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _join(out["text"])
            for k, v in list(out.get("data", {}).items()):
                if not _is_json_mime(k):
                    out["data"][k] = _join(v)
    return nb


@pytest.fixture
def norm():
    return normalize


def stream_text(cell, name="stdout") -> str:
    """All text of the given stream in a cell's outputs."""
    return "".join(
        _join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == name
    )


def all_stdout(nb) -> str:
    return "".join(stream_text(c) for c in nb["cells"] if c.get("cell_type") == "code")


def printed_params(nb) -> tuple[str, str]:
    """The PARAMS_JSON= and PARAMS_TYPES= lines printed by the parameters notebooks."""
    text = all_stdout(nb)
    js = [line for line in text.splitlines() if line.startswith("PARAMS_JSON=")]
    ty = [line for line in text.splitlines() if line.startswith("PARAMS_TYPES=")]
    assert len(js) == 1 and len(ty) == 1, f"expected one PARAMS_JSON and one PARAMS_TYPES line in:\n{text}"
    return js[0][len("PARAMS_JSON=") :], ty[0][len("PARAMS_TYPES=") :]


def tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def without_banners(nb) -> list:
    """The cells of an executed notebook minus papermill's error banner cells."""
    return [c for c in nb["cells"] if "papermill-error-cell-tag" not in tags(c)]


# ------------------------------------------------------------------------------------------------
# Leftover kernels
# ------------------------------------------------------------------------------------------------


def _kernel_processes() -> dict[int, str]:
    """Live (non-zombie) ipykernel processes that belong to this test session: descendants of the
    test process, or any process carrying this session's environment marker."""
    found: dict[int, str] = {}
    me = psutil.Process()
    try:
        children = me.children(recursive=True)
    except psutil.Error:
        children = []
    child_pids = {p.pid for p in children}
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(p.info["cmdline"] or [])
            if "ipykernel" not in cmd:
                continue
            if p.pid in child_pids:
                found[p.pid] = cmd
                continue
            try:
                if p.environ().get("NOTEBOOK_EXECUTOR_TEST_SESSION") == SESSION_MARK:
                    found[p.pid] = cmd
            except (psutil.AccessDenied, psutil.ZombieProcess):
                pass
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


# ------------------------------------------------------------------------------------------------
# Stores: every service test runs on SQLite and on a real PostgreSQL server
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'store' / 'store.sqlite'}"
    return request.getfixturevalue("postgres").new_database()


# ------------------------------------------------------------------------------------------------
# Cloud Storage: a real emulator on loopback, started once per session
# ------------------------------------------------------------------------------------------------

# No test may reach Google, a cloud metadata server or a Ray cluster: credentials and endpoints
# are always set explicitly by the tests that need them.
for _var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "STORAGE_EMULATOR_HOST", "CLOUDSDK_CONFIG",
             "RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_JOB_HEADERS"):
    os.environ.pop(_var, None)
os.environ["GCE_METADATA_HOST"] = "127.0.0.1:9"  # the discard port: nothing answers
# And no Google endpoint either, even with credentials a test made earlier in this process.
os.environ["NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT"] = "http://127.0.0.1:9"
os.environ["NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT"] = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def fake_gcs():
    server = FakeGcs()
    yield server
    server.stop()


@pytest.fixture
def bucket(fake_gcs, monkeypatch):
    """A new, empty bucket in the emulator, with `STORAGE_EMULATOR_HOST` set for this test
    (and the processes it starts)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    return fake_gcs.new_bucket()


# ------------------------------------------------------------------------------------------------
# Vertex AI: the contract double on loopback, with credentials from a fake metadata server
# ------------------------------------------------------------------------------------------------

VERTEX_TOKEN = "vertex-mds-token-5150"
VERTEX_PROJECT = "nx-vertex-project"
VERTEX_IMAGE = "us-docker.pkg.dev/nx-vertex-project/notebooks/notebook-executor:test"


@pytest.fixture(scope="session")
def metadata_server():
    """A GCE metadata server for the session: the Vertex AI tests' credentials."""
    server = FakeMetadataServer(VERTEX_TOKEN, VERTEX_PROJECT)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_vertex(fake_gcs):
    from vertex import FakeVertex

    bin_dir = str(Path(sys.executable).parent)
    # The "container": the job's command runs here, with our CLI on its PATH and the
    # emulator as its Cloud Storage (a real job would reach Cloud Storage itself).
    double = FakeVertex(check_auth=lambda auth: auth == f"Bearer {VERTEX_TOKEN}",
                        job_env={"STORAGE_EMULATOR_HOST": fake_gcs.url,
                                 "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")})
    yield double
    double.stop()


@pytest.fixture
def vertex_env(fake_vertex, metadata_server, bucket, monkeypatch):
    """The environment of a process using the Vertex AI backend against the double; returns
    the bucket that holds the results."""
    monkeypatch.setenv("GCE_METADATA_HOST", metadata_server.host)
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT", fake_vertex.url)
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_VERTEX_IMAGE", VERTEX_IMAGE)
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_VERTEX_OUTPUT_LOCATION", f"gs://{bucket}/vertex/")
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL", "0.2")
    fake_vertex.faults.clear()
    return bucket


# ------------------------------------------------------------------------------------------------
# Ray: a real head, one per session, in the loopback-only network namespace of `make test-ray`
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def ray_head():
    from ray_head import RAY_TOKEN, RayHead, in_loopback_only_namespace

    if not in_loopback_only_namespace():
        pytest.fail("the Ray tests start a Ray head, which must run in a network namespace with only a loopback "
                    "interface: run them with `make test-ray` (as root)")
    head = RayHead(RAY_TOKEN)
    yield head
    head.stop()


@pytest.fixture
def ray_env(ray_head, monkeypatch):
    from ray_head import RAY_SHAPES

    """The environment of a process using the Ray backend against the session's head (started
    again if a test killed it); returns the head."""
    if not ray_head.running:
        ray_head.start()
    monkeypatch.setenv("RAY_ADDRESS", ray_head.address)
    monkeypatch.setenv("RAY_AUTH_TOKEN", ray_head.token)
    # The nodes' notebook-executor: this environment's, by its absolute path.
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_RAY_EXECUTABLE", str(CLI))
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES", json.dumps(RAY_SHAPES))
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL", "0.2")
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_RAY_UNREACHABLE_TIMEOUT", "4")
    for name in ("NOTEBOOK_EXECUTOR_RAY_RUNTIME_ENV", "NOTEBOOK_EXECUTOR_RAY_OUTPUT_LOCATION", "RAY_JOB_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    return ray_head


@pytest.fixture(autouse=True)
def no_leftover_kernels():
    """Every test must leave no kernel process behind (checked for 10 s after the test)."""
    before = set(_kernel_processes())
    yield
    deadline = time.monotonic() + 10
    left = {}
    while True:
        left = {pid: cmd for pid, cmd in _kernel_processes().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if left:
        for pid in left:  # clean up so that later tests are not blamed
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        pytest.fail(f"kernel processes left running after the test: {left}")


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------

CLI = Path(sys.executable).parent / "notebook-executor"


def run_cli(*args, timeout=90, cwd=None, env=None):
    """Run `notebook-executor ARGS...` with stdout/stderr piped (so not a tty)."""
    assert CLI.exists(), f"console script not installed: {CLI}"
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [str(CLI), *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=cwd,
        env=e,
    )


@pytest.fixture
def cli():
    return run_cli


# ------------------------------------------------------------------------------------------------
# Comparison with readable failures
# ------------------------------------------------------------------------------------------------


def _short(obj, limit=3000) -> str:
    s = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


def assert_same_notebook(ours, ref, input_nb=None, ignore_minor=False):
    """Compare two executed notebooks after `normalize`, cell by cell, with readable messages.

    `input_nb` (plain JSON of the input) lets notebook-level `kernelspec` be added by us when the
    input had none (nbclient never writes it)."""
    a, b = normalize(ours), normalize(ref)
    assert a.get("nbformat") == b.get("nbformat") == 4
    if not ignore_minor:
        assert a.get("nbformat_minor") == b.get("nbformat_minor")
    ma, mb = dict(a.get("metadata", {})), dict(b.get("metadata", {}))
    if input_nb is not None and "kernelspec" not in input_nb.get("metadata", {}) and "kernelspec" not in mb:
        ks = ma.pop("kernelspec", None)
        assert ks is None or ks.get("name") == "python3", ks
    assert ma == mb, f"notebook metadata differs:\nours: {_short(ma)}\nnbclient: {_short(mb)}"
    ca, cb = a["cells"], b["cells"]
    assert [c["cell_type"] for c in ca] == [c["cell_type"] for c in cb], "cell types/count differ"
    for i, (x, y) in enumerate(zip(ca, cb)):
        if x == y:
            continue
        assert x.get("source") == y.get("source"), f"cell {i}: source differs"
        assert x.get("metadata") == y.get("metadata"), f"cell {i}: metadata differs: {x.get('metadata')} != {y.get('metadata')}"
        assert x.get("execution_count") == y.get("execution_count"), (
            f"cell {i}: execution_count {x.get('execution_count')} != nbclient's {y.get('execution_count')}"
        )
        oa, ob = x.get("outputs"), y.get("outputs")
        assert [o.get("output_type") for o in oa or []] == [o.get("output_type") for o in ob or []], (
            f"cell {i}: output types differ:\nours: {_short(oa)}\nnbclient: {_short(ob)}"
        )
        for j, (p, q) in enumerate(zip(oa or [], ob or [])):
            assert p == q, f"cell {i} output {j} differs:\nours: {_short(p)}\nnbclient: {_short(q)}"
        assert x == y, f"cell {i} differs:\nours: {_short(x)}\nnbclient: {_short(y)}"
    assert a == b
