"""The server stopped while an execution runs and started again: the run (in its own
runner process) completes and the restarted server lists it. Real `jupyter server`
processes, stopped the way a user stops them (SIGTERM, SIGINT-free)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from helpers import notebook

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: Path, home: Path, store: str):
        self.port = _free_port()
        self.token = "t" + os.urandom(8).hex()
        env = dict(os.environ, JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_CONFIG_DIR=str(home / "config"), NOTEBOOK_EXECUTOR_STORE=store)
        self.log = open(home / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [JUPYTER, "server", "--no-browser", "--allow-root", f"--port={self.port}", "--ip=127.0.0.1",
             f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={root}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("GET", "/api/status")
                return
            except OSError:
                assert self.process.poll() is None, (home / f"server-{self.port}.log").read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def api(self, method: str, path: str, body=None):
        return self.call(method, "/notebook-executor/api/v1/" + path, body)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def test_a_run_outlives_a_server_restart(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    notebook(root / "slow.ipynb", "import time; time.sleep(4)", "print('finished after the restart')")
    store = f"sqlite://{tmp_path}/state/store.sqlite"
    first = Server(root, tmp_path, store)
    try:
        e = first.api("POST", "executions", {"input_notebook": "slow.ipynb"})
        deadline = time.monotonic() + 60
        while first.api("GET", f"executions/{e['id']}")["state"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        first.stop()
    second = Server(root, tmp_path, store)
    try:
        deadline = time.monotonic() + 60
        while (current := second.api("GET", f"executions/{e['id']}"))["state"] not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline, current
            time.sleep(0.2)
        assert current["state"] == "SUCCEEDED", current
        assert [x["id"] for x in second.api("GET", "executions")["executions"]] == [e["id"]]
        out = json.loads(Path(current["output_notebook_uri"]).read_text())
        assert "finished after the restart" in json.dumps(out)
    finally:
        second.stop()
