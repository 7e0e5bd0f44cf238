"""Scheduler benchmark: fire lag with 10,000 enabled schedules in a SQLite store.

(a) `--due` of them (default 1,000) fire every minute, the rest once a day at spread times.
    One `notebook-executor serve` runs; for the executions of the first whole minute after
    it starts: `create_time - scheduled_time` (p50, p99, max).
(b) A fresh store with one every-minute schedule of a notebook whose first cell records the
    time: from the slot to the first cell running, when a runner slot is free.

Run: `.venv/bin/python bench/schedules.py` (about 3 minutes; `make bench` runs it too).
Results: printed, and `bench/results/schedules.json`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

import notebook_executor as nx

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).parent / "notebook-executor"


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def notebook(path: Path, source: str) -> Path:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {}, "outputs": [],
                     "source": source}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def serve(store_url: str) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "serve", "--quiet", "--store", store_url], stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process: subprocess.Popen, store_url: str):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    # Runs it started (queued by the benchmark, not part of the measure) are stopped too.
    for p in psutil.process_iter(["cmdline"]):
        if "notebook_executor._runner" in (p.info["cmdline"] or []) and store_url in p.info["cmdline"]:
            for child in p.children(recursive=True) + [p]:
                try:
                    child.kill()
                except psutil.Error:
                    pass


def wait_for_second(second: float):
    now = time.time()
    target = now - now % 60 + second
    time.sleep((target if target > now else target + 60) - now)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def fire_lag(work: Path, total: int, due: int) -> dict:
    url = f"sqlite://{work / 'lag' / 'store.sqlite'}"
    ex = nx.Executor(url, output_dir=str(work / "lag-out"))
    src = notebook(work / "trivial.ipynb", "x = 1")
    started = time.perf_counter()
    for i in range(total):
        cron = "* * * * *" if i < due else f"{i % 60} {i % 24} * * *"
        ex.create_schedule(src, cron, "Europe/Paris")
    create_seconds = time.perf_counter() - started
    wait_for_second(15)  # serve starts well before the next minute
    process = serve(url)
    try:
        wait_for_second(5)
        slot = time.time() // 60 * 60
    finally:
        stop(process, url)
    slot_text = dt.datetime.fromtimestamp(slot, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:00.000000Z")
    fired, token = [], None
    while True:
        page = ex.list(page_size=1000, page_token=token)
        fired += [e for e in page.items if e.scheduled_time == slot_text]
        token = page.next_page_token
        if not token:
            break
    lags = [(utc(e.create_time) - slot) * 1000 for e in fired]
    return {"schedules": total, "due_in_the_minute": due, "fired": len(fired), "create_schedules_s": round(create_seconds, 1),
            "lag_ms_min": round(min(lags), 1), "lag_ms_p50": round(statistics.median(lags), 1), "lag_ms_p99": round(percentile(lags, 99), 1),
            "lag_ms_max": round(max(lags), 1)}


def first_cell(work: Path, rounds: int) -> dict:
    url = f"sqlite://{work / 'first' / 'store.sqlite'}"
    ex = nx.Executor(url, output_dir=str(work / "first-out"))
    src = notebook(work / "stamp.ipynb", "import time; print(repr(time.time()))")
    s = ex.create_schedule(src, "* * * * *")
    wait_for_second(40)
    process = serve(url)
    try:
        for _ in range(rounds):
            wait_for_second(20)
    finally:
        stop(process, url)
    out = []
    for e in ex.list(schedule_id=s.id).items:
        e = ex.wait(e.id, timeout=60)
        nb = json.loads(Path(e.output_notebook_uri).read_text())
        stamp = float("".join(nb["cells"][-1]["outputs"][0]["text"]))
        out.append({"created_ms": (utc(e.create_time) - utc(e.scheduled_time)) * 1000,
                    "started_ms": (utc(e.start_time) - utc(e.scheduled_time)) * 1000,
                    "first_cell_ms": (stamp - utc(e.scheduled_time)) * 1000})
    return {"slots": len(out), **{k: round(statistics.median(r[k] for r in out), 1) for k in out[0]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=2, help="slots measured for (b)")
    parser.add_argument("--only-lag", action="store_true", help="only (a)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nx-bench-sched-") as tmp:
        work = Path(tmp)
        lag = fire_lag(work, args.schedules, args.due)
        print(f"(a) {lag['schedules']} schedules, {lag['fired']} fired in one minute: created "
              f"min {lag['lag_ms_min']} ms, p50 {lag['lag_ms_p50']} ms, p99 {lag['lag_ms_p99']} ms, max {lag['lag_ms_max']} ms after the slot "
              f"(creating the schedules took {lag['create_schedules_s']} s)")
        cell = None if args.only_lag else first_cell(work, args.rounds)
        if cell:
            print(f"(b) one schedule, median of {cell['slots']} slots: created {cell['created_ms']} ms, "
              f"runner started {cell['started_ms']} ms, first cell running {cell['first_cell_ms']} ms after the slot")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"schedules-{args.due}.json").write_text(json.dumps({"fire_lag": lag, "first_cell": cell}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
