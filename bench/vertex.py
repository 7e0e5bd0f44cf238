"""The Vertex AI backend's overheads, against the customJobs contract double and the Cloud
Storage emulator on loopback (tests/vertex.py, tests/gcs.py).

    .venv/bin/python bench/vertex.py [--jobs 200] [--rounds 10]

Measured:
* (a) `submit()` of a trivial notebook: its whole time (validation, snapshot, staging the
  notebook in the bucket, the job's creation, which happens before it returns) and when the
  create call left, from the start of `submit()`;
* (b) with `notebook-executor serve` following the jobs, from the job's end (the double's
  endTime) to the record's end;
* (c) with N jobs running, the API calls of one dispatch (the poll).
The double answers at once, so these are our own costs, not Vertex AI's.
"""

import argparse
import datetime
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from gcs import FakeGcs, FakeMetadataServer  # noqa: E402
from helpers import notebook  # noqa: E402
from vertex import FakeVertex  # noqa: E402

import notebook_executor as nx  # noqa: E402
from pathlib import Path  # noqa: E402

TOKEN = "bench-token"


def instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=200, help="jobs running at once for (c)")
    ap.add_argument("--rounds", type=int, default=10, help="submissions for (a) and (b)")
    args = ap.parse_args(argv)
    gcs = FakeGcs()
    mds = FakeMetadataServer(TOKEN, "bench-project")
    bin_dir = os.path.dirname(sys.executable)
    vertex = FakeVertex(check_auth=lambda a: a == f"Bearer {TOKEN}",
                        job_env={"STORAGE_EMULATOR_HOST": gcs.url, "PATH": bin_dir + os.pathsep + os.environ["PATH"]})
    work = tempfile.mkdtemp(prefix="nx-bench-vertex-")
    bucket = gcs.new_bucket()
    os.environ.update({
        "STORAGE_EMULATOR_HOST": gcs.url, "GCE_METADATA_HOST": mds.host, "NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT": vertex.url,
        "NOTEBOOK_EXECUTOR_VERTEX_IMAGE": "bench/notebook-executor:latest",
        "NOTEBOOK_EXECUTOR_VERTEX_OUTPUT_LOCATION": f"gs://{bucket}/bench/", "HOME": work,
    })
    store = f"sqlite://{work}/store.sqlite"
    executor = nx.Executor(store)
    src = notebook(Path(work) / "trivial.ipynb", "1 + 1")
    serve = subprocess.Popen([sys.executable, "-m", "notebook_executor.cli", "serve", "--store", store, "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        executor.submit(src, backend="vertex")  # warm-up: credentials, connections
        submit_s, follow_s = [], []
        for _ in range(args.rounds):
            before = len(vertex.requests)
            t0 = time.perf_counter()
            e = executor.submit(src, backend="vertex")
            submit_s.append(time.perf_counter() - t0)
            assert any(m == "POST" and p.split("?")[0].endswith("/customJobs") for m, p, *_ in vertex.requests[before:])
            vertex.wait(e.backend_job_id, ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"], timeout=120)
            deadline = time.monotonic() + 60
            while True:  # read from the store itself: serve's dispatcher moves the record
                with sqlite3.connect(f"{work}/store.sqlite") as db:
                    state, end_time = db.execute("SELECT state, end_time FROM executions WHERE id = ?",
                                                 (e.id,)).fetchone()
                if state in ("SUCCEEDED", "FAILED"):
                    break
                assert time.monotonic() < deadline
                time.sleep(0.02)
            follow_s.append((instant(end_time) - instant(vertex.jobs[e.backend_job_id].resource["endTime"]))
                            .total_seconds())
        print(f"(a) submit() of a trivial notebook, create call included: median {statistics.median(submit_s):.3f} s "
              f"(max {max(submit_s):.3f} s); the create call leaves before submit() returns")
        print(f"(b) job end -> record end, serve following: median {statistics.median(follow_s):.2f} s "
              f"(max {max(follow_s):.2f} s)")
    finally:
        serve.terminate()
        serve.wait(timeout=30)

    # (c) N jobs held in PENDING (no processes): the API calls of one poll.
    vertex_queue = vertex.pending_seconds
    vertex.pending_seconds = 3600
    try:
        ids = [executor.submit(src, backend="vertex").id for _ in range(args.jobs)]
        before = len(vertex.requests)
        t0 = time.perf_counter()
        executor._core.dispatch()
        poll_s = time.perf_counter() - t0
        calls = vertex.requests[before:]
        print(f"(c) {args.jobs} jobs followed: one dispatch made {len(calls)} API call(s) "
              f"({', '.join(sorted({m + ' ' + p.split('?')[0].rsplit('/', 1)[-1] for m, p, *_ in calls}))}) "
              f"in {poll_s:.3f} s")
        for id in ids:
            executor.cancel(id)
        executor._core.dispatch()
    finally:
        vertex.pending_seconds = vertex_queue
        vertex.stop()
        mds.stop()
        gcs.stop()


if __name__ == "__main__":
    main()
