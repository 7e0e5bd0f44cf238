"""The warm pool (issue 17): with a long-lived process (`notebook-executor serve`) a run gets a
kernel started before it was submitted, and that kernel stands exactly where a cold one would
(folder, sys.path, environment, argv, parameters, a fresh namespace); the pool refills after each
run, empties when idle or when its keeper is gone, and warms kernels ahead of a schedule's slot.
Speed is measured in bench/warm.py, not here."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import notebook_executor as nx
from conftest import CLI
from helpers import notebook, stdout_of
from stores import execute_sql, query_sql

# What the notebook reports about the kernel it runs in.
PROBE = """
import json, os, sys, psutil
print("PROBE" + json.dumps({
    "cwd": os.getcwd(), "path": sys.path, "env": dict(os.environ), "argv": sys.argv,
    "count": get_ipython().execution_count, "history": len(In), "dh": [str(d) for d in _dh],
    "user_names": sorted(k for k in get_ipython().user_ns if not k.startswith("_") and k not in
                         ("In", "Out", "get_ipython", "exit", "quit", "open", "json", "os", "sys", "psutil",
                          "alpha")),
    "alpha": alpha, "helper": __import__("helper").VALUE,
    "kernel_started": psutil.Process().create_time(),
}))
"""


def probe_of(execution: dict) -> dict:
    nb = json.loads(Path(execution["output_notebook_uri"]).read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("name") == "stdout")
    return json.loads(text.split("PROBE", 1)[1])


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def start_serve(store_url: str, *flags: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "serve", "--store", store_url, *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=env)


def stop_serve(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return err


def waiting_runners(store_path: Path) -> list[tuple[str, int]]:
    """(kernelspec, pid) of the runners waiting with a kernel, as the store lists them."""
    return query_sql(store_path, "SELECT warm_kernel, pid FROM runners WHERE warm_kernel <> '' AND pid > 0")


def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kernel_is_up(pid: int) -> bool:
    """The warm runner `pid` has a kernel child (python, ipykernel) running."""
    import psutil

    try:
        return any("ipykernel" in " ".join(c.cmdline()) for c in psutil.Process(pid).children())
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def project(tmp_path):
    """A notebook in its own folder, next to a module it imports, with a parameters cell."""
    folder = tmp_path / "project with space"
    folder.mkdir()
    (folder / "helper.py").write_text("VALUE = 'from the notebook folder'\n")
    return notebook(folder / "probe.ipynb", PROBE, params="alpha = 1")


def submit_from_cli(url: str, src: Path, env: dict, *args: str) -> dict:
    """`notebook-executor submit --wait`: a process of its own, with the environment `env`."""
    out = subprocess.run([str(CLI), "submit", str(src), "--store", url, "--wait", "--json", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["state"] == "SUCCEEDED", run
    return run


def test_a_warm_kernel_stands_where_a_cold_one_would(tmp_path, project):
    # Every process of both runs gets this environment (a runner's is its starter's).
    env = dict(os.environ, NOTEBOOK_EXECUTOR_TEST_MARK="same environment")
    # Cold: no long-lived process; the submitting process starts the runner.
    submitted = time.time()
    cold_run = submit_from_cli(f"sqlite://{tmp_path / 'cold.sqlite'}", project, env, "-p", "alpha", "3")
    cold = probe_of(cold_run)
    assert cold["kernel_started"] >= submitted - 1

    store_path = tmp_path / "warm.sqlite"
    url = f"sqlite://{store_path}"
    nx.Executor(url)  # the store
    serve = start_serve(url, env=env)
    try:
        (_, pid), = until(lambda: waiting_runners(store_path), 30, "a warm runner")
        until(lambda: kernel_is_up(pid), 60, "its kernel")
        submitted = time.time()
        warm_run = submit_from_cli(url, project, env, "-p", "alpha", "3")
        # The pool refills: another runner waits with a fresh kernel.
        (_, refill), = until(lambda: waiting_runners(store_path), 30, "the pool to refill")
        until(lambda: kernel_is_up(refill), 60, "the refilled kernel")
    finally:
        stop_serve(serve)
    warm = probe_of(warm_run)
    assert warm["kernel_started"] < submitted, "the run did not get the warm kernel"

    assert warm["cwd"] == cold["cwd"] == str(project.parent)
    assert warm["path"] == cold["path"]
    assert warm["helper"] == cold["helper"] == "from the notebook folder"
    assert warm["dh"] == cold["dh"] == [str(project.parent)]
    assert warm["alpha"] == cold["alpha"] == 3
    # A namespace nothing ran in: the same names, the same counts and history.
    assert warm["user_names"] == cold["user_names"]
    assert (warm["count"], warm["history"]) == (cold["count"], cold["history"])
    # The same environment, but for what names this very process (the runner's pid).
    for name in ("JPY_PARENT_PID",):
        warm["env"].pop(name), cold["env"].pop(name)
    assert warm["env"]["PWD"] == str(project.parent)
    assert warm["env"] == cold["env"]
    assert warm["env"]["NOTEBOOK_EXECUTOR_TEST_MARK"] == "same environment"

    # argv differs only by the connection file's (random) path.
    def masked(argv):
        return ["CONNECTION_FILE" if a.endswith("kernel.json") else a for a in argv]

    assert masked(warm["argv"]) == masked(cold["argv"])
    assert warm["argv"] != cold["argv"]


def test_the_pool_empties_when_idle_and_when_its_keeper_is_gone(tmp_path):
    store_path = tmp_path / "store.sqlite"
    url = f"sqlite://{store_path}"
    ex = nx.Executor(url, output_dir=str(tmp_path / "out"))
    serve = start_serve(url, "--warm-idle", "3")
    try:
        (_, pid), = until(lambda: waiting_runners(store_path), 30, "a warm runner")
        # Nothing submitted: after the idle time the runner leaves, and is not replaced.
        until(lambda: not waiting_runners(store_path), 30, "the idle pool to empty")
        until(lambda: not psutil_exists(pid), 15, "the warm runner to exit")
        time.sleep(3)
        assert waiting_runners(store_path) == []
        # A submission is use: it runs (cold), and the pool fills again.
        done = ex.wait(ex.submit(str(notebook(tmp_path / "nb.ipynb", "print(1)"))).id, timeout=120)
        assert done.state == "SUCCEEDED", done.message
        (_, pid), = until(lambda: waiting_runners(store_path), 30, "the pool to fill again")
        until(lambda: kernel_is_up(pid), 60, "its kernel")
    finally:
        stop_serve(serve)
    # Its keeper gone, the runner leaves (with its kernel) within moments.
    until(lambda: not psutil_exists(pid), 15, "the warm runner to leave with serve")
    assert waiting_runners(store_path) == []


def psutil_exists(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_a_run_of_another_kernelspec_starts_cold(tmp_path):
    """The pool warms python3; a notebook of another kernelspec gets a kernel of its own."""
    kernels = tmp_path / "jupyter" / "kernels" / "other"
    kernels.mkdir(parents=True)
    import sys

    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Other", "language": "python"}))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"))
    store_path = tmp_path / "store.sqlite"
    url = f"sqlite://{store_path}"
    src = notebook(tmp_path / "other.ipynb", "import psutil; print(psutil.Process().create_time())")
    nb = json.loads(src.read_text())
    nb["metadata"]["kernelspec"] = {"name": "other", "display_name": "Other", "language": "python"}
    src.write_text(json.dumps(nb))
    nx.Executor(url)  # the store
    serve = start_serve(url, env=env)
    try:
        (_, pid), = until(lambda: waiting_runners(store_path), 30, "a warm runner")
        until(lambda: kernel_is_up(pid), 60, "its kernel")
        submitted = time.time()
        # Submitted with serve's environment, so its kernelspec is found.
        run = submit_from_cli(url, src, env)
        started = float(stdout_of(run["output_notebook_uri"]))
        assert started >= submitted - 0.5, ("the run did not start a kernel of its own", started, submitted)
        assert json.loads(Path(run["output_notebook_uri"]).read_text())["metadata"]["kernelspec"]["name"] == "other"
    finally:
        stop_serve(serve)


def test_a_schedule_slot_gets_warm_kernels_ahead(tmp_path):
    """With the pool emptied by idleness, the two runs of a slot both get kernels started
    before the slot (warmed ahead of it). serve's clock is moved (an injected clock) so that the
    slot comes 20 s after it starts."""
    store_path = tmp_path / "store.sqlite"
    url = f"sqlite://{store_path}"
    ex = nx.Executor(url, output_dir=str(tmp_path / "out"))
    src = notebook(tmp_path / "tick.ipynb", "import psutil, time; print(psutil.Process().create_time(), time.time())")
    schedules = [ex.create_schedule(src, "* * * * *") for _ in range(2)]
    slot = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    execute_sql(url, f"UPDATE schedules SET next_run_time = '{slot.strftime('%Y-%m-%dT%H:%M:%S.000000Z')}'")
    started = time.time()
    offset = slot.timestamp() - 20 - started
    env = dict(os.environ, NOTEBOOK_EXECUTOR_CLOCK_OFFSET_SECONDS=str(offset))
    serve = start_serve(url, "--warm-idle", "2", "--concurrency", "2", env=env)
    runs = None
    try:
        until(lambda: waiting_runners(store_path), 30, "a warm runner")
        until(lambda: not waiting_runners(store_path), 30, "the idle pool to empty")
        # Schedules are no submissions: the pool stays empty until the slot comes near.
        assert time.time() < started + 8
        time.sleep(started + 8 - time.time())
        assert waiting_runners(store_path) == []

        def both_done():
            done = [e for e in ex.list().items if e.state == "SUCCEEDED"]
            return done if len(done) == 2 else None

        runs = until(both_done, 90, "both runs")
    finally:
        log = stop_serve(serve)
    assert runs, log
    assert {r.schedule_id for r in runs} == {s.id for s in schedules}
    slot_here = slot.timestamp() - offset  # the slot on this process's clock
    for run in runs:
        nb = json.loads(Path(run.output_notebook_uri).read_text())
        kernel_started, first_cell = map(float, "".join(nb["cells"][0]["outputs"][0]["text"]).split())
        assert kernel_started < slot_here, "the kernel was not warmed ahead of the slot"
        assert first_cell >= slot_here - 0.5
