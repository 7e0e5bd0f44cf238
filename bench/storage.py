"""`notebook-executor run` with Cloud Storage, next to the same run on local files.

    .venv/bin/python bench/storage.py [--rounds N]

A real Cloud Storage emulator (fake-gcs-server, from the test dependencies) runs on loopback;
each round runs, interleaved, local->local and gs->gs for the trivial and the big-output
notebooks of bench/notebooks/, each a fresh process measured as bench/run.py measures
(wall time, peak RSS of our own process). Reported: the medians, the time gs:// adds, and
for the big-output notebook our peak RSS above the idle footprint as a multiple of the
output's size. Results go to bench/results/storage.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from gcs import FakeGcs  # noqa: E402
from run import NOTEBOOK_DIR, default_venv, idle_command, measure, tool_env  # noqa: E402

NOTEBOOKS = ["trivial", "big_output"]
MiB = 1024 * 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "storage.json"))
    args = ap.parse_args(argv)
    venv = default_venv()
    gcs = FakeGcs()
    env = dict(tool_env(venv), STORAGE_EMULATOR_HOST=gcs.url)
    cli = os.path.join(venv, "bin", "notebook-executor")
    results = {nb: {"local": [], "gs": []} for nb in NOTEBOOKS}
    sizes = {}
    try:
        bucket = gcs.new_bucket()
        with tempfile.TemporaryDirectory() as work:
            for nb in NOTEBOOKS:
                with open(os.path.join(NOTEBOOK_DIR, f"{nb}.ipynb"), "rb") as f:
                    gcs.put(bucket, f"in/{nb}.ipynb", f.read())
            idle = measure(idle_command("notebook-executor", venv), env, work, 60, work)["own_peak_rss"]
            for round_ in range(args.rounds + 1):  # round 0 warms up (bytecode, page cache)
                for nb in NOTEBOOKS:
                    order = ["local", "gs"] if round_ % 2 == 0 else ["gs", "local"]
                    for where in order:
                        if where == "local":
                            src, out = os.path.join(NOTEBOOK_DIR, f"{nb}.ipynb"), os.path.join(work, f"{nb}.out.ipynb")
                        else:
                            src, out = f"gs://{bucket}/in/{nb}.ipynb", f"gs://{bucket}/out/{nb}.ipynb"
                        r = measure([cli, "run", src, out, "--no-progress"], env, work, 600, work)
                        if not r["ok"]:
                            sys.exit(f"{where} {nb} failed: {r.get('error')}\n{r.get('stderr_tail', '')}")
                        if round_ > 0:
                            results[nb][where].append(r)
                    sizes[nb] = len(gcs.get(f"gs://{bucket}/out/{nb}.ipynb"))
    finally:
        gcs.stop()

    summary = {"idle_own_rss": idle, "notebooks": {}}
    print(f"notebook-executor run, local->local vs gs->gs (fake-gcs-server on loopback), {args.rounds} rounds")
    print(f"{'notebook':<12} {'local':>9} {'gs':>9} {'added':>9} {'own RSS local':>14} {'own RSS gs':>11}")
    rss = {nb: {w: max(r["own_peak_rss"] for r in results[nb][w]) for w in ("local", "gs")} for nb in NOTEBOOKS}
    for nb in NOTEBOOKS:
        med = {w: statistics.median(r["wall_s"] for r in results[nb][w]) for w in ("local", "gs")}
        summary["notebooks"][nb] = {"median_wall_s": med, "peak_own_rss": rss[nb], "output_bytes": sizes[nb]}
        print(f"{nb:<12} {med['local']:>8.3f}s {med['gs']:>8.3f}s {med['gs'] - med['local']:>+8.3f}s "
              f"{rss[nb]['local'] / MiB:>12.1f}Mi {rss[nb]['gs'] / MiB:>9.1f}Mi")
    # Memory per output byte of the big-output run: above the import-only footprint, and above
    # a trivial run the same way (which holds the HTTP and TLS code a gs:// run pages in).
    big = sizes["big_output"]
    for where in ("local", "gs"):
        above_idle = (rss["big_output"][where] - idle) / big
        above_trivial = (rss["big_output"][where] - rss["trivial"][where]) / big
        summary[f"big_output_{where}_rss_per_output_byte"] = {"above_idle": above_idle, "above_trivial": above_trivial}
        print(f"big_output {where:>5}: peak RSS per output byte {above_idle:.2f} above idle, "
              f"{above_trivial:.2f} above a trivial run ({big / MiB:.2f} MiB written)")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"summary": summary, "runs": results}, f, indent=1)
    print(f"idle footprint (import only): {idle / MiB:.1f} MiB; results in {args.json}")


if __name__ == "__main__":
    main()
