"""Warm-kernel benchmark (issue 17): submit -> first cell and submit -> SUCCEEDED of a trivial
notebook, cold (no long-lived process: the submitter starts a runner, which starts a kernel) and
warm (`notebook-executor serve`, or a real `jupyter server` with the extension, keeps a kernel
started), through the Python API and through REST; a burst of 20 submissions; a schedule's slot
-> first cell (serve's clock moved so that the slot comes 15 s after it starts); the idle pool's
memory; and papermill on the same notebook in the same run, as the reference.

Each warm round waits until the pool has a kernel up again (the steady state of a server that
is not flooded); the burst does not wait.

Run: `.venv/bin/python bench/warm.py [--rounds 10]` (about 3 minutes; `make bench` runs it).
Results: printed, and `bench/results/warm.json`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

import notebook_executor as nx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rest import API, Server  # noqa: E402  (the real jupyter server of the REST benchmark)

CLI = Path(sys.executable).parent / "notebook-executor"
# The trivial notebook, its first cell saying when it ran.
STAMP = {"cells": [
    {"cell_type": "code", "execution_count": None, "id": "stamp", "metadata": {}, "outputs": [],
     "source": "import time\nprint(time.time())"},
    {"cell_type": "code", "execution_count": None, "id": "trivial", "metadata": {}, "outputs": [], "source": "x = 1"},
], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def first_cell_time(output_uri: str) -> float:
    nb = json.loads(Path(output_uri).read_text())
    return float("".join(nb["cells"][0]["outputs"][0]["text"]))


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def pool_ready(store_path: Path) -> bool:
    """A warm runner waits with its kernel up (its ipykernel child answers nothing yet, but exists
    and has written its ports: the runner marks itself only once the kernel is started)."""
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT pid FROM runners WHERE warm_kernel <> '' AND pid > 0").fetchall()
    for (pid,) in rows:
        try:
            kids = psutil.Process(pid).children()
        except psutil.Error:
            continue
        # The kernel has run long enough to import ipykernel and bind (its start takes ~0.5 s).
        if any("ipykernel" in " ".join(k.cmdline()) and time.time() - k.create_time() > 2 for k in kids):
            return True
    return False


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def python_rounds(ex: nx.Executor, src: Path, rounds: int, store_path: Path | None) -> dict:
    first, done = [], []
    for _ in range(rounds):
        if store_path is not None:
            wait_until(lambda: pool_ready(store_path), 60, "the warm pool")
        t = time.time()
        e = ex.submit(str(src))
        end = ex.wait(e.id, timeout=120)
        assert end.state == "SUCCEEDED", end.state_message
        first.append(first_cell_time(end.output_notebook_uri) - t)
        done.append(epoch(end.end_time) - t)
    return {"first_cell_ms": median_ms(first), "succeeded_ms": median_ms(done),
            "first_cell_ms_all": [round(v * 1000, 1) for v in first]}


def burst(ex: nx.Executor, src: Path, n: int = 20) -> float:
    t = time.time()
    ids = [ex.submit(str(src)).id for _ in range(n)]
    ends = [ex.wait(i, timeout=300) for i in ids]
    assert all(e.state == "SUCCEEDED" for e in ends), [e.state_message for e in ends]
    return round(max(epoch(e.end_time) for e in ends) - t, 2)


def start_serve(url: str, *flags: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "serve", "--store", url, "--quiet", *flags], stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def pool_memory(store_path: Path) -> dict:
    """Resident memory of the waiting runners and of their kernels."""
    with sqlite3.connect(store_path) as db:
        pids = [p for (p,) in db.execute("SELECT pid FROM runners WHERE warm_kernel <> '' AND pid > 0")]
    runner = kernel = 0
    for pid in pids:
        p = psutil.Process(pid)
        runner += p.memory_info().rss
        kernel += sum(k.memory_info().rss for k in p.children(recursive=True))
    return {"runners": len(pids), "runner_mb": round(runner / 2**20, 1), "kernel_mb": round(kernel / 2**20, 1)}


def papermill_rounds(src: Path, out: Path, rounds: int) -> float:
    import papermill

    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        papermill.execute_notebook(str(src), str(out), progress_bar=False, log_output=False)
        times.append(time.perf_counter() - t)
    return median_ms(times)


def rest_rounds(server: Server, rounds: int, store_path: Path, warm: bool) -> dict:
    first, done = [], []
    for _ in range(rounds):
        if warm:
            wait_until(lambda: pool_ready(store_path), 60, "the server's warm pool")
        t = time.time()
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}{API}/executions", method="POST",
                                         data=json.dumps({"input_notebook": "stamp.ipynb"}).encode(),
                                         headers={"Authorization": f"token {server.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            execution = json.loads(r.read())
        while True:
            status, body = server.get(f"{API}/executions/{execution['id']}")
            record = json.loads(body)
            if record["state"] in ("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"):
                break
            time.sleep(0.02)
        assert record["state"] == "SUCCEEDED", record
        first.append(first_cell_time(record["output_notebook_uri"]) - t)
        done.append(epoch(record["end_time"]) - t)
    return {"first_cell_ms": median_ms(first), "succeeded_ms": median_ms(done)}


def slot_to_first_cell(work: Path, src: Path) -> float:
    """A schedule's slot brought 15 s after serve starts (its clock moved): slot -> first cell."""
    store_path = work / "slot.sqlite"
    url = f"sqlite://{store_path}"
    ex = nx.Executor(url, output_dir=str(work / "slot-out"))
    s = ex.create_schedule(src, "* * * * *")
    slot = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE schedules SET next_run_time = ?", (slot.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),))
    offset = slot.timestamp() - 15 - time.time()
    serve = start_serve(url, env=dict(os.environ, NOTEBOOK_EXECUTOR_CLOCK_OFFSET_SECONDS=str(offset)))
    try:
        wait_until(lambda: any(e.state == "SUCCEEDED" for e in ex.list(schedule_id=s.id).items), 60, "the slot's run")
    finally:
        stop(serve)
    run = ex.list(schedule_id=s.id).items[0]
    return round((first_cell_time(run.output_notebook_uri) - (slot.timestamp() - offset)) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="nx-bench-warm-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        src = root / "stamp.ipynb"
        src.write_text(json.dumps(STAMP))

        results["papermill_trivial_ms"] = papermill_rounds(src, work / "pm.ipynb", min(args.rounds, 5))

        cold_path = work / "cold.sqlite"
        cold = nx.Executor(f"sqlite://{cold_path}", output_dir=str(work / "out-cold"))
        results["python_cold"] = python_rounds(cold, src, args.rounds, None)
        results["burst_20_cold_s"] = burst(cold, src)

        warm_path = work / "warm.sqlite"
        url = f"sqlite://{warm_path}"
        warm = nx.Executor(url, output_dir=str(work / "out-warm"))
        serve = start_serve(url)
        try:
            wait_until(lambda: pool_ready(warm_path), 60, "the warm pool")
            results["idle_pool_memory"] = pool_memory(warm_path)
            results["python_warm"] = python_rounds(warm, src, args.rounds, warm_path)
            wait_until(lambda: pool_ready(warm_path), 60, "the warm pool")
            results["burst_20_warm_pool_1_s"] = burst(warm, src)
        finally:
            stop(serve)
        serve = start_serve(url, "--warm-kernels", "python3=2")
        try:
            wait_until(lambda: pool_ready(warm_path), 60, "the warm pool")
            time.sleep(3)  # both kernels up
            results["burst_20_warm_pool_2_s"] = burst(warm, src)
        finally:
            stop(serve)

        slots = []
        for i in range(2):
            (work / f"slot{i}").mkdir()
            slots.append(slot_to_first_cell(work / f"slot{i}", src))
        results["slot_to_first_cell_ms"] = slots

        for name, warm_on in (("rest_cold", False), ("rest_warm", True)):
            store_path = work / f"{name}.sqlite"
            settings = {} if warm_on else {"warm_kernels": {}}
            server = Server(work, root, f"sqlite://{store_path}", extension=True, name=name, settings=settings)
            try:
                server.wait_ready()
                if warm_on:  # what the server says its idle pool costs
                    wait_until(lambda: pool_ready(store_path), 60, "the server's warm pool")
                    status, body = server.get(f"{API}/config")
                    results["rest_idle_pool"] = json.loads(body)["warm_pools"]["local"]
                results[name] = rest_rounds(server, args.rounds, store_path, warm_on)
            finally:
                server.stop()

    pm = results["papermill_trivial_ms"]
    for key in ("python_cold", "python_warm", "rest_cold", "rest_warm"):
        results[key]["papermill_over_succeeded"] = round(pm / results[key]["succeeded_ms"], 1)
    print(json.dumps(results, indent=1))
    out = HERE / "results" / "warm.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
