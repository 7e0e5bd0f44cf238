"""Execution-service benchmark: (a) submit() to SUCCEEDED for the trivial notebook, (b) a
burst of 20 trivial notebooks until all are done, with the peak memory of the whole
process tree (this process, runners, kernels), (c) list() first page with 100,000
executions in a SQLite store. Run: `.venv/bin/python bench/service.py` (`make bench` runs it
after the engine benchmark)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

import notebook_executor as nx

HERE = Path(__file__).resolve().parent
TRIVIAL = HERE / "notebooks" / "trivial.ipynb"


class TreePeak:
    """Samples the RSS sum of this process and all its descendants (runners and kernels are
    started in their own sessions, so they are found by the store's runner processes too)."""

    def __init__(self, store_url: str):
        self.store_url = store_url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self):
        procs = [psutil.Process()] + psutil.Process().children(recursive=True)
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if "notebook_executor._runner" in cmd and self.store_url in cmd:
                procs.append(p)
                try:
                    procs += p.children(recursive=True)
                except psutil.Error:
                    pass
        return {p.pid: p for p in procs}.values()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for p in self._procs():
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def latency(executor, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        e = executor.submit(TRIVIAL)
        done = executor.wait(e.id, timeout=120)
        assert done.state == "SUCCEEDED", done.state_message
        out.append(time.perf_counter() - t)
    return out


def burst(executor, n: int) -> tuple[float, int]:
    with TreePeak(executor.store_url) as peak:
        t = time.perf_counter()
        ids = [executor.submit(TRIVIAL).id for _ in range(n)]
        for id in ids:
            assert executor.wait(id, timeout=600).state == "SUCCEEDED"
        elapsed = time.perf_counter() - t
    return elapsed, peak.peak


def fill(store_path: Path, n: int) -> None:
    """Inserts n finished executions straight into the SQLite file (the schema is the
    store's own, created by opening it)."""
    con = sqlite3.connect(store_path)
    spec = json.dumps({"display_name": "bulk", "input_notebook": str(TRIVIAL), "kernel_name": "python3", "backend": "local"})
    now = "2026-01-01T00:00:00.000000Z"
    rows = [(uuid.uuid4().hex, "bulk", str(TRIVIAL), spec, "SUCCEEDED", now, now, now) for _ in range(n)]
    con.executemany(
        "INSERT INTO executions (id, display_name, input_notebook, spec, state, create_time, update_time, end_time) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def list_first_page(executor, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        page = executor.list()
        out.append(time.perf_counter() - t)
        assert len(page.items) == 50
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.sqlite"
        executor = nx.Executor(f"sqlite://{store}", output_dir=os.path.join(tmp, "out"))
        latency(executor, 1)  # warm-up: page cache, first runner
        lat = latency(executor, args.rounds)
        burst_s, burst_peak = burst(executor, args.burst)
        fill(store, args.rows)
        lst = list_first_page(executor, args.rounds * 4)
        filtered = []
        for _ in range(args.rounds * 4):
            t = time.perf_counter()
            executor.list(state="FAILED")
            filtered.append(time.perf_counter() - t)
    print(f"(a) submit -> SUCCEEDED, trivial notebook: median {statistics.median(lat):.3f} s "
          f"(min {min(lat):.3f}, max {max(lat):.3f}; {args.rounds} rounds)")
    print(f"(b) burst of {args.burst} trivial notebooks: all done in {burst_s:.2f} s, "
          f"peak RSS of the process tree {burst_peak / 2**20:.0f} MiB (concurrency = {os.cpu_count()} cores)")
    print(f"(c) list() first page of 50 with {args.rows:,} executions: median {statistics.median(lst) * 1000:.2f} ms "
          f"(max {max(lst) * 1000:.2f}); filtered by a state with no rows: {statistics.median(filtered) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
