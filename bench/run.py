"""Benchmark notebook-executor against papermill and nbclient.

    .venv/bin/python bench/run.py [--rounds N] [--quick] [--tools ...] [--notebooks ...]

(`make bench` builds the Rust core in release mode and then runs this.) See bench/README.md
for what each figure means. Every run is a fresh process, measured end to end:

* wall time: time.perf_counter() around starting the process and waiting for it;
* peak tree RSS: every 10 ms, the RSS of the tool's process plus all its descendants (the
  kernel) is summed with psutil; the largest sum is kept;
* peak own RSS: the tool's process alone (the larger of the sampled RSS and the kernel's
  VmHWM high-water mark of that process, read at each sample).

The tools run interleaved: in each round, every notebook is run by every tool, in an order
rotated from round to round, so that drift (thermal, page cache, noisy neighbours) hits all
of them alike. A tool that fails is reported as failed, with its stderr; the harness goes on.
Results go to bench/results/latest.json.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

try:
    import psutil
except ImportError:  # pragma: no cover - psutil comes with ipykernel
    sys.exit("bench/run.py needs psutil (a dependency of ipykernel): run it with the project's .venv/bin/python")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOTEBOOK_DIR = os.path.join(HERE, "notebooks")
DEFAULT_JSON = os.path.join(HERE, "results", "latest.json")

OURS = "notebook-executor"
TOOLS = [OURS, "papermill", "nbclient"]
NOTEBOOKS = ["trivial", "medium", "big_output"]
SAMPLE_INTERVAL = 0.010  # seconds between two memory samples
DISCOVER_EVERY = 10  # look for new descendants every this many samples (100 ms)
MiB = 1024 * 1024

# nbclient has no CLI of its own that matches the others: this is its documented Python path,
# run as a fresh process like the other tools.
NBCLIENT_SCRIPT = """\
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3").execute()
nbformat.write(nb, sys.argv[2])
"""

# The "idle footprint" of each tool: a process that only imports it.
IDLE_IMPORTS = {
    OURS: "import notebook_executor",
    "papermill": "import papermill",
    "nbclient": "import nbformat, nbclient",
}


def default_venv():
    if sys.prefix != sys.base_prefix:  # run by a venv's python: benchmark that venv's tools
        return sys.prefix
    return os.path.join(ROOT, ".venv")


def tool_command(tool, venv, inp, out):
    bin_dir = os.path.join(venv, "bin")
    if tool == OURS:
        return [os.path.join(bin_dir, "notebook-executor"), "run", inp, out, "--no-progress"]
    if tool == "papermill":
        return [os.path.join(bin_dir, "papermill"), inp, out, "-k", "python3", "--no-progress-bar"]
    if tool == "nbclient":
        return [os.path.join(bin_dir, "python"), "-c", NBCLIENT_SCRIPT, inp, out]
    raise ValueError(tool)


def idle_command(tool, venv):
    return [os.path.join(venv, "bin", "python"), "-c", IDLE_IMPORTS[tool]]


def tool_env(venv):
    env = dict(os.environ)
    # The python3 kernelspec says `python`: it must resolve to the venv's interpreter (ipykernel).
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = venv
    env.pop("PYTHONHOME", None)
    # Let the tools cache their bytecode as in a normal install (the warm-up round writes it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# ---------------------------------------------------------------------------------------------
# Measuring one process tree


def _vm_hwm(pid):
    """The kernel's peak-RSS high-water mark of one process, in bytes (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants every SAMPLE_INTERVAL seconds."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.stop_event = threading.Event()
        self.tree_peak = 0
        self.own_peak = 0
        self.own_hwm = 0
        self.children_peak = 0
        self.samples = 0
        self.max_procs = 1
        self.seen = {}  # pid -> psutil.Process, to clean up stragglers afterwards
        self.current = []  # the descendants found by the last discovery, still alive

    def sample(self):
        root = self.proc
        try:
            own = root.memory_info().rss
            # Finding descendants scans all of /proc (~1 ms): do it every DISCOVER_EVERY samples
            # only, and read the RSS of the known ones (cheap) at every sample.
            if self.samples % DISCOVER_EVERY == 0:
                self.current = root.children(recursive=True)
        except psutil.Error:
            return False
        hwm = _vm_hwm(root.pid)
        if hwm:
            self.own_hwm = max(self.own_hwm, hwm)
        kids = 0
        alive = []
        for child in self.current:
            self.seen.setdefault(child.pid, child)
            try:
                kids += child.memory_info().rss
                alive.append(child)
            except psutil.Error:
                pass
        self.current = alive
        self.samples += 1
        self.own_peak = max(self.own_peak, own)
        self.children_peak = max(self.children_peak, kids)
        self.tree_peak = max(self.tree_peak, own + kids)
        self.max_procs = max(self.max_procs, 1 + len(alive))
        return True

    def run(self):
        while not self.stop_event.is_set():
            if not self.sample():
                break
            self.stop_event.wait(SAMPLE_INTERVAL)

    def stop(self):
        self.stop_event.set()
        self.join()


def _tail(path, max_lines=40, max_chars=6000):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    lines = text.rstrip("\n").splitlines()[-max_lines:]
    return "\n".join(lines)[-max_chars:]


def _kill_stragglers(sampler, root_pid):
    """Kill descendants that outlived the tool (e.g. a kernel left running). Returns their count."""
    left = []
    for pid, p in sampler.seen.items():
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p)
        except psutil.Error:
            pass
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=5)
    return len(left)


def measure(cmd, env, cwd, timeout, workdir):
    """Run cmd as a fresh process; return wall time, peak memory and outcome."""
    out_path = os.path.join(workdir, "stdout.txt")
    err_path = os.path.join(workdir, "stderr.txt")
    result = {"cmd": cmd, "ok": False}
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        t0 = time.perf_counter()
        try:
            proc = psutil.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f, env=env, cwd=cwd)
        except OSError as e:
            result.update(error=f"could not start: {e}", missing=isinstance(e, FileNotFoundError))
            return result
        sampler = TreeSampler(proc)
        sampler.sample()  # one sample before the thread starts: even a very short run has one
        sampler.start()
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except psutil.TimeoutExpired:
            timed_out = True
            for p in [proc] + list(sampler.seen.values()):
                try:
                    p.kill()
                except psutil.Error:
                    pass
            rc = proc.wait()
        wall = time.perf_counter() - t0
        sampler.stop()
    stragglers = _kill_stragglers(sampler, proc.pid)
    result.update(
        returncode=int(rc),
        wall_s=wall,
        tree_peak_rss=sampler.tree_peak,
        own_peak_rss=max(sampler.own_peak, sampler.own_hwm),
        own_peak_rss_sampled=sampler.own_peak,
        children_peak_rss=sampler.children_peak,
        samples=sampler.samples,
        max_procs=sampler.max_procs,
        stragglers_killed=stragglers,
    )
    if timed_out:
        result["error"] = f"timed out after {timeout} s"
    elif rc != 0:
        result["error"] = f"exit code {rc}"
    else:
        result["ok"] = True
    if not result["ok"]:
        result["stderr_tail"] = _tail(err_path)
        result["stdout_tail"] = _tail(out_path, max_lines=10, max_chars=2000)
    return result


# ---------------------------------------------------------------------------------------------
# Checking an output notebook (outside the timed part)


def check_output(nb_name, out_path):
    """Return (size in bytes, None) if out_path is a plausible executed notebook, else (size, why)."""
    try:
        size = os.path.getsize(out_path)
    except OSError:
        return 0, "no output notebook written"
    try:
        with open(out_path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError) as e:
        return size, f"output is not JSON: {e}"
    if nb.get("nbformat") != 4:
        return size, "output is not an nbformat 4 notebook"
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        return size, f"output holds an error: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    expect_streams = sum(1 for c in code if "print(" in "".join(c.get("source", "")))
    with_stream = sum(1 for c in code if any(o.get("output_type") == "stream" for o in c.get("outputs", [])))
    if with_stream < expect_streams:
        return size, f"only {with_stream} of the {expect_streams} printing cells have stream output"
    if nb_name == "big_output":
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        if not pngs:
            return size, "the PNG display output is missing"
        text = sum(len("".join(o["text"]) if isinstance(o.get("text"), list) else o.get("text", ""))
                   for o in outputs if o.get("output_type") == "stream")
        if text < 4_000_000:
            return size, f"only {text} characters of stream text (expected ~5 MB)"
    return size, None


# ---------------------------------------------------------------------------------------------
# Reporting


def _median(values):
    return statistics.median(values) if values else None


def summarize_runs(runs):
    ok = [r for r in runs if r.get("ok")]
    s = {"runs_ok": len(ok), "runs_total": len(runs)}
    if ok:
        for key in ("wall_s", "tree_peak_rss", "own_peak_rss", "children_peak_rss", "output_size"):
            vals = [r[key] for r in ok if r.get(key) is not None]
            if vals:
                s[f"{key}_median"] = _median(vals)
                s[f"{key}_min"] = min(vals)
                s[f"{key}_max"] = max(vals)
    return s


def _ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "  n/a" if r is None else f"{r:5.2f}x"


def fmt_mib(b):
    return "n/a" if b is None else f"{b / MiB:.1f}"


def fmt_s(s):
    return "n/a" if s is None else f"{s:.3f}"


def print_idle(idle, tools):
    print("\nIdle footprint (python -c \"import <tool>\" from the venv; medians)")
    print(f"  {'tool':<18} {'runs':>5} {'wall s':>8} {'peak RSS MiB':>13}")
    for tool in tools:
        s = idle.get(tool, {})
        runs = f"{s.get('runs_ok', 0)}/{s.get('runs_total', 0)}"
        print(f"  {tool:<18} {runs:>5} {fmt_s(s.get('wall_s_median')):>8} {fmt_mib(s.get('own_peak_rss_median')):>13}")


def print_notebook(name, nbres, tools, rounds):
    print(f"\n{name}.ipynb  ({nbres['cells']} cells, input {nbres['input_size'] / 1000:.1f} kB; "
          f"medians of {rounds} round{'s' if rounds != 1 else ''})")
    print(f"  {'tool':<18} {'runs':>5} {'wall s':>8} {'tree peak MiB':>14} {'own peak MiB':>13} "
          f"{'kernel peak MiB':>16} {'output MiB':>11}")
    for tool in tools:
        s = nbres["tools"][tool]
        runs = f"{s['runs_ok']}/{s['runs_total']}"
        if not s["runs_ok"]:
            print(f"  {tool:<18} {runs:>5}   FAILED ({s.get('failure', 'no successful run')})")
            continue
        print(f"  {tool:<18} {runs:>5} {fmt_s(s.get('wall_s_median')):>8} "
              f"{fmt_mib(s.get('tree_peak_rss_median')):>14} {fmt_mib(s.get('own_peak_rss_median')):>13} "
              f"{fmt_mib(s.get('children_peak_rss_median')):>16} "
              f"{s.get('output_size_median', 0) / MiB:>11.2f}")
    for other, r in nbres.get("ratios", {}).items():
        print(f"  ours/{other + ':':<10} wall {fmt_ratio(r['wall_s'])}   tree peak RSS {fmt_ratio(r['tree_peak_rss'])}"
              f"   own peak RSS {fmt_ratio(r['own_peak_rss'])}")
    ovh = nbres.get("output_overhead")
    if ovh:
        print("  memory per byte of output: (own peak RSS - idle footprint) / output .ipynb size")
        for tool in tools:
            o = ovh.get(tool)
            if not o:
                continue
            mark = "  <- ours" if tool == OURS else ""
            print(f"    {tool:<18} ({fmt_mib(o['own_peak_rss'])} - {fmt_mib(o['idle_rss'])}) MiB / "
                  f"{fmt_mib(o['output_size'])} MiB = {o['ratio']:.2f}{mark}")


# ---------------------------------------------------------------------------------------------


def versions(venv, env):
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {'python': sys.version.split()[0]}\n"
        "for d in ('notebook-executor', 'papermill', 'nbclient', 'nbformat', 'jupyter_client', 'ipykernel', 'pyzmq'):\n"
        "    try: out[d] = m.version(d)\n"
        "    except Exception: out[d] = None\n"
        "print(json.dumps(out))\n"
    )
    try:
        p = subprocess.run([os.path.join(venv, "bin", "python"), "-c", code], env=env,
                           capture_output=True, text=True, timeout=60)
        return json.loads(p.stdout)
    except Exception as e:  # noqa: BLE001 - informational only
        return {"error": str(e)}


def git_commit():
    try:
        p = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        commit = p.stdout.strip() if p.returncode == 0 else None
        d = subprocess.run(["git", "status", "--porcelain", "--", "src", "python", "Cargo.toml"], cwd=ROOT,
                           capture_output=True, text=True, timeout=10)
        return {"commit": commit, "dirty": bool(d.stdout.strip()) if d.returncode == 0 else None}
    except OSError:
        return {"commit": None, "dirty": None}


def notebook_cells(path):
    with open(path, encoding="utf-8") as f:
        return len(json.load(f)["cells"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="one round (unless --rounds), no warm-up round")
    ap.add_argument("--tools", nargs="+", choices=TOOLS, default=TOOLS)
    ap.add_argument("--notebooks", nargs="+", choices=NOTEBOOKS, default=NOTEBOOKS)
    ap.add_argument("--venv", default=default_venv(), help="the environment whose tools run (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before one run is killed (default 600)")
    ap.add_argument("--json", default=DEFAULT_JSON, help="where to write the results (default bench/results/latest.json)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up round")
    args = ap.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    warmup = not (args.quick or args.no_warmup)
    venv = os.path.abspath(args.venv)
    env = tool_env(venv)
    tools = [t for t in TOOLS if t in args.tools]
    notebooks = [n for n in NOTEBOOKS if n in args.notebooks]

    for nb in notebooks:
        if not os.path.exists(os.path.join(NOTEBOOK_DIR, f"{nb}.ipynb")):
            sys.exit(f"missing bench/notebooks/{nb}.ipynb: run bench/notebooks/make_notebooks.py")

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "mem_total": psutil.virtual_memory().total,
        "venv": venv,
        "rounds": rounds,
        "warmup": warmup,
        "quick": args.quick,
        "sample_interval_s": SAMPLE_INTERVAL,
        "versions": versions(venv, env),
        "git": git_commit(),
        "commands": {t: tool_command(t, venv, "IN", "OUT") for t in tools},
    }
    print(f"notebook-executor bench: {rounds} round(s){' + warm-up' if warmup else ''}, "
          f"tools {', '.join(tools)}; {os.cpu_count()} CPUs; venv {venv}")
    v = meta["versions"]
    print("versions: " + ", ".join(f"{k} {v.get(k)}" for k in ("notebook-executor", "papermill", "nbclient",
                                                                 "jupyter_client", "ipykernel", "python")))

    runs = {nb: {t: [] for t in tools} for nb in notebooks}
    idle_runs = {t: [] for t in tools}
    missing = set()
    reported = set()  # (tool, notebook) whose stderr was already printed in full
    workroot = tempfile.mkdtemp(prefix="nx-bench-")

    def do_run(tool, nb, rnd, timed):
        if tool in missing:
            r = {"ok": False, "error": "executable not found", "missing": True}
        else:
            wd = os.path.join(workroot, f"{nb}-{tool}-{rnd}")
            os.makedirs(wd, exist_ok=True)
            inp = os.path.join(NOTEBOOK_DIR, f"{nb}.ipynb")
            out = os.path.join(wd, f"{nb}.out.ipynb")
            r = measure(tool_command(tool, venv, inp, out), env, ROOT, args.timeout, wd)
            if r.get("missing"):
                missing.add(tool)
            if r["ok"]:
                r["output_size"], why = check_output(nb, out)
                if why:
                    r["ok"] = False
                    r["error"] = f"bad output: {why}"
            shutil.rmtree(wd, ignore_errors=True)
        r["round"] = rnd
        label = f"  [{'warm-up' if not timed else f'round {rnd}'}] {nb:<10} {tool:<18}"
        if r["ok"]:
            print(f"{label} {r['wall_s']:7.3f} s  tree {fmt_mib(r['tree_peak_rss']):>7} MiB  "
                  f"own {fmt_mib(r['own_peak_rss']):>7} MiB"
                  + (f"  ({r['stragglers_killed']} leftover process(es) killed after exit)"
                     if r.get("stragglers_killed") else ""), flush=True)
        else:
            print(f"{label} FAILED: {r.get('error')}", flush=True)
            if (tool, nb) not in reported:  # the full stderr once per tool and notebook
                reported.add((tool, nb))
                tail = r.get("stderr_tail") or r.get("stdout_tail")
                if tail:
                    print("    | " + tail.replace("\n", "\n    | "), flush=True)
        if timed:
            runs[nb][tool].append(r)

    def do_idle(tool, rnd):
        wd = os.path.join(workroot, f"idle-{tool}-{rnd}")
        os.makedirs(wd, exist_ok=True)
        r = measure(idle_command(tool, venv), env, ROOT, args.timeout, wd)
        shutil.rmtree(wd, ignore_errors=True)
        r["round"] = rnd
        if not r["ok"]:
            print(f"  [idle round {rnd}] {tool}: FAILED: {r.get('error')}")
            if (tool, "idle") not in reported:
                reported.add((tool, "idle"))
                tail = r.get("stderr_tail")
                if tail:
                    print("    | " + tail.replace("\n", "\n    | "))
        idle_runs[tool].append(r)

    def rotated(seq, k):
        k %= len(seq)
        return seq[k:] + seq[:k]

    t_start = time.perf_counter()
    try:
        if warmup:
            print("\nwarm-up (not counted)")
            for nb in notebooks:
                for tool in tools:
                    do_run(tool, nb, 0, timed=False)
        for rnd in range(1, rounds + 1):
            print(f"\nround {rnd}/{rounds}")
            for tool in rotated(tools, rnd - 1):
                do_idle(tool, rnd)
            for i, nb in enumerate(notebooks):
                for tool in rotated(tools, rnd - 1 + i):
                    do_run(tool, nb, rnd, timed=True)
    except KeyboardInterrupt:
        print("\ninterrupted: reporting the rounds done so far")
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    meta["elapsed_s"] = time.perf_counter() - t_start

    # ---- summaries
    idle = {t: summarize_runs(idle_runs[t]) for t in tools}
    results = {"meta": meta, "idle": {}, "notebooks": {}}
    for t in tools:
        results["idle"][t] = dict(idle[t], command=idle_command(t, venv), runs=idle_runs[t])
    for nb in notebooks:
        path = os.path.join(NOTEBOOK_DIR, f"{nb}.ipynb")
        nbres = {"input_size": os.path.getsize(path), "cells": notebook_cells(path), "tools": {}}
        for t in tools:
            s = summarize_runs(runs[nb][t])
            failed = [r for r in runs[nb][t] if not r.get("ok")]
            if failed:
                s["failure"] = failed[-1].get("error")
            s["runs"] = runs[nb][t]
            nbres["tools"][t] = s
        ours = nbres["tools"].get(OURS)
        if ours and ours["runs_ok"]:
            ratios = {}
            for other in ("papermill", "nbclient"):
                o = nbres["tools"].get(other)
                if o and o["runs_ok"]:
                    ratios[other] = {k: _ratio(ours.get(f"{k}_median"), o.get(f"{k}_median"))
                                     for k in ("wall_s", "tree_peak_rss", "own_peak_rss")}
            nbres["ratios"] = ratios
        if nb == "big_output":
            ovh = {}
            for t in tools:
                s = nbres["tools"][t]
                idle_rss = idle[t].get("own_peak_rss_median")
                if s["runs_ok"] and idle_rss and s.get("output_size_median"):
                    ovh[t] = {
                        "own_peak_rss": s["own_peak_rss_median"],
                        "idle_rss": idle_rss,
                        "output_size": s["output_size_median"],
                        "ratio": (s["own_peak_rss_median"] - idle_rss) / s["output_size_median"],
                    }
            nbres["output_overhead"] = ovh
        results["notebooks"][nb] = nbres

    print("\n" + "=" * 100)
    print_idle(idle, tools)
    for nb in notebooks:
        print_notebook(nb, results["notebooks"][nb], tools, rounds)
    print()

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print(f"results: {os.path.relpath(args.json, os.getcwd())}")
    all_ok = all(results["notebooks"][nb]["tools"][t]["runs_ok"] for nb in notebooks for t in tools)
    return 0 if all_ok else 1


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


if __name__ == "__main__":
    sys.exit(main())
