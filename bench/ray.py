"""The Ray backend's overhead against a real local Ray head (tests/ray_head.py), next to the
same `notebook-executor run` submitted bare. Run it in a loopback-only network namespace
(`make bench` does: `ray start` binds the machine's external address when it has one):

    unshare --net sh -c 'ip link set lo up && exec .venv/bin/python bench/ray.py [--rounds 10]'

Measured, interleaved, a trivial notebook each time, the same entrypoint and resources:
* ours: `Executor.submit()` (validation, snapshot, staging, the job's submission) to
  `wait()` returning SUCCEEDED;
* bare REST: `POST /api/jobs/` with the same command, then `GET /api/jobs/{id}` every 50 ms
  until SUCCEEDED (what a minimal client of the Jobs API does);
* `ray job submit`: Ray's CLI (`--no-wait` off: it follows the logs until the job ends),
  its whole wall time, its own start-up included.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from helpers import notebook  # noqa: E402
from ray_head import RayHead, in_loopback_only_namespace  # noqa: E402

import notebook_executor as nx  # noqa: E402

CLI = str(Path(sys.executable).parent / "notebook-executor")
RAY = str(Path(sys.executable).parent / "ray")


def bare_command(src: Path, out: Path) -> str:
    return f"{CLI} run {src} {out} --no-progress --log-output -k python3"


def bare_rest(head: RayHead, src: Path, work: Path) -> float:
    job = uuid.uuid4().hex
    t0 = time.perf_counter()
    head.api("POST", "/api/jobs/", {"entrypoint": bare_command(src, work / f"{job}.ipynb"), "submission_id": job})
    while True:
        status = head.job(job)["status"]
        if status == "SUCCEEDED":
            return time.perf_counter() - t0
        if status in ("FAILED", "STOPPED"):
            raise RuntimeError(f"bare job {job}: {status}")
        time.sleep(0.05)


def bare_cli(head: RayHead, src: Path, work: Path) -> float:
    job = uuid.uuid4().hex
    env = dict(os.environ, RAY_ADDRESS=head.address, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=head.token)
    t0 = time.perf_counter()
    done = subprocess.run([RAY, "job", "submit", "--submission-id", job, "--",
                           *bare_command(src, work / f"{job}.ipynb").split()],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ray job submit: exit {done.returncode}: {done.stdout[-2000:]}")
    return time.perf_counter() - t0


def ours(executor, src: Path) -> float:
    t0 = time.perf_counter()
    e = executor.submit(src, backend="ray")
    done = executor.wait(e.id, timeout=120)
    elapsed = time.perf_counter() - t0
    if done.state != "SUCCEEDED":
        raise RuntimeError(f"{e.id}: {done.state} {done.state_message}")
    return elapsed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args(argv)
    if not in_loopback_only_namespace():
        sys.exit("run in a loopback-only network namespace (see the docstring, or make bench)")
    work = Path(tempfile.mkdtemp(prefix="nx-bench-ray-"))
    token = uuid.uuid4().hex
    started = time.perf_counter()
    head = RayHead(token)
    print(f"Ray head up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    os.environ.update({"RAY_ADDRESS": head.address, "RAY_AUTH_TOKEN": token, "NOTEBOOK_EXECUTOR_RAY_EXECUTABLE": CLI,
                       "HOME": str(work)})
    try:
        src = notebook(work / "trivial.ipynb", "1 + 1")
        executor = nx.Executor(f"sqlite://{work}/store.sqlite", output_dir=str(work / "outputs"))
        # Warm-up of each: the head's worker pool, connections, the page cache.
        ours(executor, src), bare_rest(head, src, work), bare_cli(head, src, work)
        results = {"ours": [], "bare REST": [], "ray job submit": []}
        for _ in range(args.rounds):
            results["ours"].append(ours(executor, src))
            results["bare REST"].append(bare_rest(head, src, work))
            results["ray job submit"].append(bare_cli(head, src, work))
        medians = {k: statistics.median(v) for k, v in results.items()}
        print(f"trivial notebook, submit to SUCCEEDED, {args.rounds} rounds (median, min-max):")
        for name, times in results.items():
            print(f"  {name:<15} {medians[name]:.3f} s ({min(times):.3f}-{max(times):.3f})")
        print(f"  ours - bare REST:      {medians['ours'] - medians['bare REST']:+.3f} s (target: <= +0.3 s)")
        print(f"  ours - ray job submit: {medians['ours'] - medians['ray job submit']:+.3f} s")
        print(json.dumps({k: [round(t, 4) for t in v] for k, v in results.items()}), file=sys.stderr)
    finally:
        head.stop()


if __name__ == "__main__":
    main()
