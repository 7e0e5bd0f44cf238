"""REST benchmark: latency of the server extension under load, and the memory it adds.

A SQLite store gets --executions finished executions (a few real runs, then copies of
their rows with new ids). A real `jupyter server` serves it on loopback; a second process
(`wrk`, or this script's asyncio client with `--client python`) keeps --clients
connections busy for --seconds with a mix of
  40% GET executions?page_size=50                                  (first page)
  40% GET executions/{id}                                          (random known ids)
  20% GET executions?state=SUCCEEDED&page_size=50&page_token=...   (random depth)
and reports requests/s, p50/p90/p99/max latency, >= 400 answers and socket errors; then
each route alone for --route-seconds, and Jupyter's own GET /api/status alone (the floor
that jupyter_server and tornado set, without the extension's code). The server's CPU (by
thread) and the rest of the machine's (a busy neighbour skews the figures) are sampled too.
Memory: the server's RSS at idle (started, a few requests answered, 2 s quiet) with the
extension enabled, minus the same with it disabled.
By default every connection always has a request in flight (closed loop, as wrk does);
--think-ms pauses each connection between requests, like users of a UI.
Targets (the issue): p99 <= 50 ms with no errors; <= 30 MB added at idle.

Run: `.venv/bin/python bench/rest.py` (about 2 minutes; needs `wrk`: apt-get install wrk),
     `.venv/bin/python bench/rest.py --quick` (smoke test: 2,000 executions, 20 clients, 5 s).
Results: printed, and `bench/results/rest.json`."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import psutil

import notebook_executor as nx

HERE = Path(__file__).resolve().parent
TRIVIAL = HERE / "notebooks" / "trivial.ipynb"
JUPYTER = Path(sys.executable).parent / "jupyter"
API = "/notebook-executor/api/v1"
HOST = "127.0.0.1"
ROUTES = ("list", "get", "filter")
BASELINE = "status"  # GET /api/status: Jupyter server's own cheapest authenticated route, the floor
MIX = {"list": 40, "get": 40, "filter": 20}
FAILED_EVERY = 10  # one copy in ten is FAILED, so the state filter skips some rows
COLUMNS = ("id", "display_name", "input_notebook", "spec", "idempotency_token", "schedule_id", "scheduled_time",
           "state", "state_message", "create_time", "start_time", "end_time", "update_time", "cells_total",
           "cells_done", "current_cell", "output_notebook_uri", "output_html_uri", "backend_job_id", "runner_id",
           "backend")


# The store

def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def build_store(work: Path, root: Path, n: int, seeds: int = 3) -> tuple[str, float]:
    """`seeds` real executions of a notebook in the server's root, then n - seeds copies of
    their rows (new id, times one second apart; every tenth FAILED). Returns (url, seconds)."""
    started = time.perf_counter()
    path = work / "store.sqlite"
    url = f"sqlite://{path}"
    notebook = root / "reports" / "trivial.ipynb"
    notebook.parent.mkdir(parents=True)
    shutil.copy(TRIVIAL, notebook)
    executor = nx.Executor(url, output_dir=str(work / "outputs"))
    ids = [executor.submit(notebook, parameters={"run": i, "learning_rate": 0.01}, labels={"team": "bench"},
                           display_name=f"seed {i}").id for i in range(seeds)]
    for id in ids:
        done = executor.wait(id, timeout=120)
        assert done.state == "SUCCEEDED", (done.state, done.state_message)
    del executor
    con = sqlite3.connect(path, timeout=30)
    con.row_factory = sqlite3.Row
    real = [dict(r) for r in con.execute(f"SELECT {', '.join(COLUMNS)} FROM executions ORDER BY seq")]
    for r in real:
        json.loads(r["spec"])  # the copies hold a spec the store wrote
    t0 = time.time() - n  # oldest first: seq and create_time grow together
    rows = []
    for i in range(n - len(real)):
        r = dict(real[i % len(real)])
        r["id"] = uuid.uuid4().hex
        t = t0 + i
        r["create_time"], r["start_time"], r["end_time"], r["update_time"] = stamp(t), stamp(t + 0.2), stamp(t + 0.9), stamp(t + 0.9)
        if i % FAILED_EVERY == FAILED_EVERY - 1:
            r["state"], r["state_message"] = "FAILED", "NameError: name 'x' is not defined (cell 2)"
        rows.append(tuple(r[c] for c in COLUMNS))
    with con:
        con.executemany(f"INSERT INTO executions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return url, time.perf_counter() - started


def known_ids(url: str, count: int) -> list[str]:
    con = sqlite3.connect(url[len("sqlite://"):])
    ids = [r[0] for r in con.execute("SELECT id FROM executions ORDER BY random() LIMIT ?", (count,))]
    con.close()
    return ids


def page_tokens(url: str, n: int) -> list[str]:
    """Tokens of `state=SUCCEEDED` pages at every depth of the store (walked up to 1,000 at a
    time: a token is a position, valid for any page size)."""
    executor = nx.Executor(url)
    tokens, token = [], None
    while True:
        page = executor.list(state="SUCCEEDED", page_size=max(50, min(1000, n // 100)), page_token=token)
        token = page.next_page_token
        if not token:
            break
        tokens.append(token)
    return tokens


def stop_runners(url: str) -> None:
    """Runner processes the seed executions started (they are ours: the store is ours)."""
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "notebook_executor._runner" in cmd and url in cmd:
            for q in p.children(recursive=True) + [p]:
                try:
                    q.kill()
                except psutil.Error:
                    pass


# The server

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, work: Path, root: Path, store_url: str, *, extension: bool, name: str,
                 settings: dict | None = None):
        """``settings``: of the extension (``c.NotebookExecutor``)."""
        self.token = secrets.token_hex(24)
        self.port = free_port()
        home = work / name
        for d in ("data", "runtime", "config"):
            (home / d).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_PLATFORM_DIRS="1")
        env.pop("NOTEBOOK_EXECUTOR_STORE", None)
        cmd = [str(JUPYTER), "server", "--no-browser", "--allow-root", f"--ServerApp.ip={HOST}",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
               f"--ServerApp.root_dir={root}", f"--NotebookExecutor.store_url={store_url}"]
        # The user config dir is read last: it overrides the environment's enabling file.
        (home / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"notebook_executor": extension}},
                        "NotebookExecutor": settings or {}}))
        self.log_path = home / "server.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.ps = psutil.Process(self.process.pid)

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        con = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            con.request("GET", path, headers={"Authorization": f"token {self.token}"})
            r = con.getresponse()
            return r.status, r.read()
        finally:
            con.close()

    def wait_ready(self, timeout: float = 90) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited ({self.process.returncode}): {self.log_tail()}")
            try:
                if self.get("/api/status", timeout=2)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"jupyter server not ready after {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def rss(self) -> int:
        """RSS of the server and any children, bytes."""
        total = 0
        for p in [self.ps] + self.ps.children(recursive=True):
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()
        self._log.close()


def check_answers(server: Server, ids: list[str], tokens: list[str]) -> None:
    """The routes under test answer what they should before they are timed."""
    status, body = server.get(f"{API}/executions?page_size=50")
    assert status == 200, (status, body[:300])
    page = json.loads(body)
    assert len(page["executions"]) == 50 and page["next_page_token"], page.keys()
    status, body = server.get(f"{API}/executions/{ids[0]}")
    assert status == 200 and json.loads(body)["id"] == ids[0], (status, body[:300])
    status, body = server.get(f"{API}/executions?state=SUCCEEDED&page_size=50&page_token={urllib.parse.quote(tokens[-1])}")
    assert status == 200, (status, body[:300])
    assert all(e["state"] == "SUCCEEDED" for e in json.loads(body)["executions"])


def idle_rss(server: Server, extension: bool, ids: list[str], tokens: list[str], quiet: float = 2.0) -> tuple[int, float]:
    """(RSS, share of a core used while quiet) after start-up and a few requests (the
    extension's routes too, when it is there), then `quiet` seconds without requests."""
    for path in ("/api/status", "/api/kernelspecs", "/api/contents", "/api/sessions"):
        assert server.get(path)[0] == 200, path
    status = server.get(f"{API}/config")[0]
    assert status == (200 if extension else 404), f"extension {'enabled' if extension else 'disabled'} but {API}/config gave {status}"
    if extension:
        check_answers(server, ids, tokens)
        for id in ids[:20]:
            server.get(f"{API}/executions/{id}")
    t0, cpu0 = time.perf_counter(), sum(server.ps.cpu_times()[:2])
    time.sleep(quiet)
    return server.rss(), (sum(server.ps.cpu_times()[:2]) - cpu0) / (time.perf_counter() - t0)


# CPU of the server during a run

def thread_names(pid: int) -> dict[int, str]:
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = (task / "comm").read_text().strip()
        except OSError:
            pass
    return out


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def own_seconds() -> float:
    """CPU seconds of this process and its waited-for children (the load generator)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuWatch:
    """CPU seconds of the server process over the run, in total and by thread name; and of the
    machine, so a busy neighbour (another process on the same cores) shows in the figures."""

    def __init__(self, ps: psutil.Process):
        self.ps = ps

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.cpu0 = self.ps.cpu_times()
        self.threads0 = {t.id: t.user_time + t.system_time for t in self.ps.threads()}
        self.busy0, self.own0 = busy_seconds(), own_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        cpu1 = self.ps.cpu_times()
        self.user = cpu1.user - self.cpu0.user
        self.system = cpu1.system - self.cpu0.system
        self.busy = busy_seconds() - self.busy0
        self.own = own_seconds() - self.own0
        names = thread_names(self.ps.pid)
        by_name: dict[str, float] = {}
        for t in self.ps.threads():
            name = names.get(t.id, "?")
            if t.id == self.ps.pid:
                name = "main (event loop)"
            by_name[name] = by_name.get(name, 0.0) + t.user_time + t.system_time - self.threads0.get(t.id, 0.0)
        self.by_thread = dict(sorted(((k, round(v, 2)) for k, v in by_name.items() if v > 0.005), key=lambda kv: -kv[1]))

    def summary(self) -> dict:
        server = self.user + self.system
        return {"cores_used": round(server / self.wall, 2), "user_s": round(self.user, 2),
                "system_s": round(self.system, 2), "by_thread_s": self.by_thread,
                "load_generator_cores": round(self.own / self.wall, 2),
                "other_processes_cores": round(max(0.0, self.busy - server - self.own) / self.wall, 2)}


# Load generators

# With --think-ms, each connection pauses 0.5x to 1.5x that long after each answer (wrk calls
# `delay` when the script defines it; the pause is not in the latency).
DELAY = """delay = function()
  return math.random(%d, %d)
end
"""

LUA = r"""
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local base = "%(api)s/executions"
local weights = {list = %(w_list)d, get = %(w_get)d, filter = %(w_filter)d}
local mode = "mix"
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("seed", counter * 7919 + os.time())
end

init = function(args)
  if args[1] then mode = args[1] end
  math.randomseed(seed or os.time())
end

local function pick()
  if mode ~= "mix" then return mode end
  local r = math.random(weights.list + weights.get + weights.filter)
  if r <= weights.list then return "list" end
  if r <= weights.list + weights.get then return "get" end
  return "filter"
end

%(delay)s
request = function()
  local route = pick()
  local path
  if route == "list" then
    path = base .. "?page_size=50"
  elseif route == "status" then
    path = "/api/status"
  elseif route == "get" then
    path = base .. "/" .. ids[math.random(#ids)]
  else
    path = base .. "?state=SUCCEEDED&page_size=50&page_token=" .. tokens[math.random(#tokens)]
  end
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "p999_us": %%d, ' ..
    '"max_us": %%d, "mean_us": %%.1f}\n', summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


def lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def run_wrk(script: Path, server: Server, clients: int, threads: int, seconds: float, route: str) -> dict:
    cmd = ["wrk", f"-t{min(threads, clients)}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "--latency", "-s", str(script), "-H", f"Authorization: token {server.token}",
           f"http://{HOST}:{server.port}/", "--", route]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    r = json.loads(line[len("RESULT "):])
    return {"requests": r["requests"], "seconds": r["duration_us"] / 1e6, "rps": r["requests"] / (r["duration_us"] / 1e6),
            "mb_per_s": r["bytes"] / 1e6 / (r["duration_us"] / 1e6),
            "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "p999_ms": r["p999_us"] / 1000, "max_ms": r["max_us"] / 1000, "mean_ms": r["mean_us"] / 1000,
            "status_errors": r["status"], "socket_errors": {k: r[k] for k in ("connect", "read", "write", "timeout")}}


def run_python_client(server: Server, config: dict, seconds: float, route: str) -> dict:
    """This script in a second process, as an asyncio HTTP/1.1 keep-alive client."""
    cfg = dict(config, port=server.port, token=server.token, seconds=seconds, route=route)
    out = subprocess.run([sys.executable, __file__, "--load-client", json.dumps(cfg)], capture_output=True, text=True,
                         timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"load client failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q / 100 * len(sorted_values)))]


async def _load_client(cfg: dict) -> dict:
    rng = random.Random()
    base = f"{API}/executions"
    ids, tokens = cfg["ids"], [urllib.parse.quote(t) for t in cfg["tokens"]]
    routes = [r for r in ROUTES for _ in range(MIX[r])]

    def path() -> str:
        route = cfg["route"] if cfg["route"] != "mix" else rng.choice(routes)
        if route == "list":
            return f"{base}?page_size=50"
        if route == "get":
            return f"{base}/{rng.choice(ids)}"
        if route == BASELINE:
            return "/api/status"
        return f"{base}?state=SUCCEEDED&page_size=50&page_token={rng.choice(tokens)}"

    latencies: list[float] = []
    counts = {"status": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "bytes": 0}
    started = time.perf_counter()
    deadline = started + cfg["seconds"]

    async def client():
        reader = writer = None
        while time.perf_counter() < deadline:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, cfg["port"])
                except OSError:
                    counts["connect"] += 1
                    await asyncio.sleep(0.1)
                    continue
            request = (f"GET {path()} HTTP/1.1\r\nHost: {HOST}:{cfg['port']}\r\nAuthorization: token {cfg['token']}\r\n"
                       f"\r\n").encode()
            t = time.perf_counter()
            try:
                writer.write(request)
                await writer.drain()
            except OSError:
                counts["write"] += 1
                writer = None
                continue
            try:
                status_line = await asyncio.wait_for(reader.readline(), 10)
                headers = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            except asyncio.TimeoutError:
                counts["timeout"] += 1
                writer.close()
                writer = None
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError):
                counts["read"] += 1
                writer = None
                continue
            latencies.append(time.perf_counter() - t)
            counts["bytes"] += len(body)
            parts = status_line.split()
            if len(parts) < 2 or int(parts[1]) >= 400:
                counts["status"] += 1
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
            if cfg["think_ms"]:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * cfg["think_ms"] / 1000)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(cfg["clients"])))
    elapsed = time.perf_counter() - started
    lat = sorted(x * 1000 for x in latencies)
    return {"requests": len(lat), "seconds": elapsed, "rps": len(lat) / elapsed, "mb_per_s": counts["bytes"] / 1e6 / elapsed,
            "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
            "p999_ms": percentile(lat, 99.9), "max_ms": lat[-1] if lat else float("nan"),
            "mean_ms": statistics.fmean(lat) if lat else float("nan"), "status_errors": counts["status"],
            "socket_errors": {k: counts[k] for k in ("connect", "read", "write", "timeout")}}


# Report

def fmt_run(name: str, r: dict) -> str:
    sock = sum(r["socket_errors"].values())
    return (f"  {name:<8} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p90_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
            f"{r['requests']:>9,} {r['status_errors']:>6} {sock:>6}" + (f"  {r['socket_errors']}" if sock else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=100_000, help="executions in the store (default 100,000)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent connections (default 200)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the mixed run (default 30)")
    parser.add_argument("--route-seconds", type=float, default=10,
                        help="length of each route's own run after the mixed one (default 10; 0: skip them)")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 4),
                        help="wrk threads (default: a quarter of the cores, at least 1: the server needs the rest)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk when installed, else the asyncio client)")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="pause of each connection between requests, ms (0.5x-1.5x, mean this; default 0: "
                             "closed loop, every connection always has a request in flight)")
    parser.add_argument("--quick", action="store_true", help="smoke test: --executions 2000 --seconds 5 --clients 20 --route-seconds 2")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "rest.json")
    parser.add_argument("--load-client", help=argparse.SUPPRESS)  # internal: the asyncio load generator
    args = parser.parse_args()
    if args.executions < 100:
        parser.error("--executions: give at least 100")
    if args.load_client:
        print(json.dumps(asyncio.run(_load_client(json.loads(args.load_client)))))
        return 0
    if args.quick:
        args.executions, args.seconds, args.clients, args.route_seconds = 2000, 5, 20, 2
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), or use --client python")

    results: dict = {"executions": args.executions, "clients": args.clients, "seconds": args.seconds,
                     "think_ms": args.think_ms, "client": client,
                     "wrk_threads": args.threads if client == "wrk" else None, "cores": os.cpu_count(),
                     "cpu": _cpu_model(), "mix_percent": MIX}
    servers: list[Server] = []
    store_url = None
    with tempfile.TemporaryDirectory(prefix="nx-bench-rest-") as tmp:
        work = Path(tmp)
        root = work / "root"
        root.mkdir()
        try:
            store_url, fill_s = build_store(work, root, args.executions)
            stop_runners(store_url)
            ids = known_ids(store_url, 2000)
            tokens = page_tokens(store_url, args.executions)
            results["store_fill_s"] = round(fill_s, 1)
            print(f"store: {args.executions:,} executions in {fill_s:.1f} s; {len(tokens)} page tokens, {len(ids)} ids",
                  flush=True)

            on = Server(work, root, store_url, extension=True, name="with-extension")
            servers.append(on)
            start_on = on.wait_ready()
            rss_on, idle_cpu_on = idle_rss(on, True, ids, tokens)
            print(f"server with the extension: ready in {start_on:.1f} s, idle RSS {rss_on / 2**20:.1f} MiB", flush=True)

            script = work / "mix.lua"
            script.write_text(LUA % {"ids": lua_list(ids), "tokens": lua_list([urllib.parse.quote(t) for t in tokens]),
                                     "api": API, "delay": DELAY % (args.think_ms // 2, args.think_ms * 3 // 2) if args.think_ms else "",
                                     "w_list": MIX["list"], "w_get": MIX["get"], "w_filter": MIX["filter"]})
            py_cfg = {"ids": ids, "tokens": tokens, "clients": args.clients, "think_ms": args.think_ms}

            def load(seconds: float, route: str) -> dict:
                if client == "wrk":
                    return run_wrk(script, on, args.clients, args.threads, seconds, route)
                return run_python_client(on, py_cfg, seconds, route)

            load(min(3.0, args.seconds), "mix")  # warm-up: connections, page cache, code paths
            with CpuWatch(on.ps) as cpu:
                mixed = load(args.seconds, "mix")
            rss_after = on.rss()
            results.update(mixed=mixed, server_cpu=cpu.summary(), rss_after_load_mib=round(rss_after / 2**20, 1))
            print(f"mixed run: {mixed['rps']:.0f} req/s, p99 {mixed['p99_ms']:.1f} ms", flush=True)
            per_route = {}
            if args.route_seconds > 0:
                for route in ROUTES + (BASELINE,):
                    with CpuWatch(on.ps) as rcpu:
                        per_route[route] = load(args.route_seconds, route)
                    per_route[route]["server_cores_used"] = rcpu.summary()["cores_used"]
                    per_route[route]["other_cores"] = rcpu.summary()["other_processes_cores"]
            results["per_route"] = per_route
            on.stop()

            off = Server(work, root, store_url, extension=False, name="without-extension")
            servers.append(off)
            start_off = off.wait_ready()
            rss_off, idle_cpu_off = idle_rss(off, False, ids, tokens)
            off.stop()
            results.update(idle_rss_with_mib=round(rss_on / 2**20, 1), idle_rss_without_mib=round(rss_off / 2**20, 1),
                           rss_added_mib=round((rss_on - rss_off) / 2**20, 1), rss_added_mb=round((rss_on - rss_off) / 1e6, 1),
                           startup_with_s=round(start_on, 2), startup_without_s=round(start_off, 2),
                           idle_cpu_with_percent=round(idle_cpu_on * 100, 1), idle_cpu_without_percent=round(idle_cpu_off * 100, 1))
        finally:
            for s in servers:
                s.stop()
            if store_url:
                stop_runners(store_url)

    m = results["mixed"]
    errors = m["status_errors"] + sum(m["socket_errors"].values())
    print()
    print(f"REST under load: {args.executions:,} executions (SQLite), {args.clients} connections "
          f"({f'{args.think_ms} ms pause between requests' if args.think_ms else 'closed loop'}), {client}"
          f"{f' ({args.threads} thread(s))' if client == 'wrk' else ''} on loopback, {os.cpu_count()} cores ({results['cpu']})")
    print(f"  {'route':<8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'requests':>9} {'>=400':>6} {'sock':>6}")
    print(fmt_run(f"mix {args.seconds:g}s", m))
    for route, r in results["per_route"].items():
        print(fmt_run(route, r) + f"   (server {r['server_cores_used']:.2f} cores, others {r['other_cores']:.2f})")
    c = results["server_cpu"]
    print(f"  server CPU in the mixed run: {c['cores_used']:.2f} cores (user {c['user_s']} s, system {c['system_s']} s); "
          f"by thread: " + ", ".join(f"{k} {v} s" for k, v in list(c["by_thread_s"].items())[:6]))
    print(f"  load generator {c['load_generator_cores']:.2f} cores; other processes on the machine "
          f"{c['other_processes_cores']:.2f} cores" + (" (a busy neighbour: the figures are pessimistic)"
                                                       if c["other_processes_cores"] > 0.1 else ""))
    print(f"  target p99 <= 50 ms, no errors: p99 {m['p99_ms']:.1f} ms, {errors} errors -> "
          f"{'met' if m['p99_ms'] <= 50 and errors == 0 else 'NOT met'}")
    print(f"Idle RSS of the server: {results['idle_rss_with_mib']} MiB with the extension, {results['idle_rss_without_mib']} MiB "
          f"without: +{results['rss_added_mib']} MiB ({results['rss_added_mb']} MB) -> "
          f"{'met' if results['rss_added_mb'] <= 30 else 'NOT met'} (target <= 30 MB); "
          f"{results['rss_after_load_mib']} MiB after the load")
    print(f"Idle CPU of the server: {results['idle_cpu_with_percent']}% of a core with the extension, "
          f"{results['idle_cpu_without_percent']}% without")
    print(f"Start-up to /api/status: {results['startup_with_s']} s with, {results['startup_without_s']} s without; "
          f"store filled in {results['store_fill_s']} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    sys.exit(main())
