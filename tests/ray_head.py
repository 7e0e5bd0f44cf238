"""A real Ray head for the tests: `ray start --head --block` from the test environment's
`ray[default]`, with usage stats off, 2 CPUs, a small object store and token
authentication, in a loopback-only network namespace.

`ray start` looks for the machine's external address (and the dashboard agent binds it),
so the tests that start a head run inside a network namespace that has only a loopback
interface (`make test-ray`: `unshare --net` as root): there is no other address to reach.
`check_loopback_only` holds every socket of the head's processes to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil

RAY = Path(sys.executable).parent / "ray"
DASHBOARD_PORT = 8265
# The custom resource the head offers, so that shapes can ask for it.
SLOT_RESOURCE = "notebook_slot"
# The session head's token (token authentication is on).
RAY_TOKEN = "nx-ray-" + uuid.uuid4().hex
# The machine types of the Ray tests: resource shapes the head can hold (2 CPUs, 2
# notebook slots), and one it cannot (a GPU), whose jobs stay PENDING.
RAY_SHAPES = {
    "small": {"num_cpus": 0.5, "memory": "64MiB", "resources": {SLOT_RESOURCE: 1}},
    "two-cpus": {"num_cpus": 2, "description": "the whole head"},
    "gpu": {"num_cpus": 1, "num_gpus": 1},
}


def in_loopback_only_namespace() -> bool:
    """True inside a network namespace whose only interface is `lo` (checked through
    netlink, which sees this process's namespace, unlike /sys/class/net)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


class RayHead:
    def __init__(self, token: str):
        self.token = token
        self.address = f"http://127.0.0.1:{DASHBOARD_PORT}"
        # Short: Ray's unix socket paths must fit in 107 bytes.
        self.temp_dir = tempfile.mkdtemp(prefix="nx-ray-")
        self.log_path = Path(self.temp_dir) / "head.log"
        self.process: subprocess.Popen | None = None
        self.start()

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                    # A stopped job's process gets 3 s after SIGTERM (Ray's default), then SIGKILL.
                    "RAY_JOB_STOP_WAIT_TIME_S": "3"})
        env.pop("RAY_ADDRESS", None)
        return env

    def start(self, timeout: float = 180.0) -> None:
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [str(RAY), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--dashboard-host",
             "127.0.0.1", "--dashboard-port", str(DASHBOARD_PORT), "--include-dashboard", "true", "--num-cpus", "2",
             "--resources", json.dumps({SLOT_RESOURCE: 2}), "--object-store-memory", "200000000",
             "--disable-usage-stats", "--temp-dir", self.temp_dir],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                self.api("GET", "/api/version")
                return
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Ray head did not answer within {timeout} s:\n{self.log_path.read_text()}")
                time.sleep(0.3)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def api(self, method: str, path: str, body=None, timeout: float = 10.0):
        """A call of the Jobs API with the head's token; the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.address + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def job(self, submission_id: str) -> dict:
        return self.api("GET", f"/api/jobs/{submission_id}")

    def wait_job(self, submission_id: str, statuses: set[str], timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                job = self.job(submission_id)
                if job["status"] in statuses:
                    return job
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
                job = None
            if time.monotonic() > deadline:
                raise AssertionError(f"Ray job {submission_id} is {job and job['status']}, not in {statuses}")
            time.sleep(0.1)

    def reserved(self, submission_id: str) -> dict:
        """The resources Ray reserves for a job's entrypoint: its supervisor actor's, as the
        dashboard's state API shows them."""
        name = f"_ray_internal_job_actor_{submission_id}"
        deadline = time.monotonic() + 15
        while True:  # the state API sees an actor a moment after its creation
            answer = self.api("GET", "/api/v0/actors?detail=1&filter_keys=name&filter_predicates=%3D"
                                     f"&filter_values={name}")
            actors = answer["data"]["result"]["result"]
            if actors or time.monotonic() > deadline:
                [actor] = actors
                return actor["required_resources"]
            time.sleep(0.2)

    def processes(self) -> list[psutil.Process]:
        """`ray start` and everything it started (the jobs' processes too)."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """The head machine's sudden death: every process of the head and its jobs, SIGKILL."""
        for p in self.processes():
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """`ray start --block` stops what it started on SIGTERM; what is left is killed."""
        if self.process is None:
            return
        tree = self.processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        _, alive = psutil.wait_procs(tree, timeout=15)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=10)
        self.process = None

    def sockets(self) -> list[tuple[str, str, tuple, tuple]]:
        """(process name, status, local address, remote address) of every inet socket of the
        head's processes."""
        found = []
        for p in self.processes():
            try:
                for c in p.net_connections(kind="inet"):
                    found.append((p.name(), c.status, tuple(c.laddr), tuple(c.raddr) if c.raddr else ()))
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found


def _ipv4(address: str) -> str:
    """127.0.0.1 seen through an IPv6 socket (``::ffff:127.0.0.1``) is 127.0.0.1."""
    return address.removeprefix("::ffff:")


def non_loopback_sockets(sockets) -> list:
    """Sockets bound to, or connected to, anything but 127.0.0.1. A wildcard bind (0.0.0.0,
    ::) counts too: in this namespace it can only mean loopback, but it must not be relied on."""
    return [s for s in sockets if _ipv4(s[2][0]) != "127.0.0.1" or (s[3] and _ipv4(s[3][0]) != "127.0.0.1")]
