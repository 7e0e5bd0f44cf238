"""Live updates on Jupyter's event bus (/api/events/subscribe, as JupyterLab streams it):
changes made through the server and by other processes arrive within a second."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time

from notebook_executor.server.events import SCHEMA_ID

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"}


class Events:
    def __init__(self, ws):
        self.ws = ws
        self.received: list[tuple[float, dict]] = []

    async def until(self, predicate, timeout: float = 60.0) -> dict:
        """The first of our events (received already, or read now) that satisfies `predicate`."""
        for _, event in self.received:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no matching event; got {[e for _, e in self.received][-5:]}"
            message = await asyncio.wait_for(self.ws.read_message(), remaining)
            assert message is not None, "the event socket closed"
            event = json.loads(message)
            if event.get("schema_id") != SCHEMA_ID:
                continue
            self.received.append((time.time(), event))
            if predicate(event):
                return event

    def execution_states(self, id: str) -> list[str]:
        return [e["state"] for _, ev in self.received for e in ev["executions"] if e["id"] == id]


async def _subscribe(jp_ws_fetch) -> Events:
    return Events(await jp_ws_fetch("api", "events", "subscribe"))


def _age(update_time: str, received_at: float) -> float:
    written = dt.datetime.fromisoformat(update_time.replace("Z", "+00:00")).timestamp()
    return received_at - written


async def test_a_rest_submission_streams_its_states_within_a_second(api, jp_ws_fetch):
    events = await _subscribe(jp_ws_fetch)
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb"}, expect=201)
    final = await events.until(lambda ev: any(x["id"] == e["id"] and x["state"] in TERMINAL for x in ev["executions"]))
    states = events.execution_states(e["id"])
    # A feed of changes, coalesced per read: states arrive in lifecycle order, to the end.
    order = ["QUEUED", "PREPARING", "RUNNING", "SUCCEEDED"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states), states
    assert states[-1] == "SUCCEEDED" and len(states) >= 2, states
    record = next(x for x in final["executions"] if x["id"] == e["id"])
    assert record["input_notebook"] == "params.ipynb" and record["progress"]["cells_done"] >= 1
    # Each change arrived within a second of being written (update_time: the writer's clock).
    ages = [_age(x["update_time"], at) for at, ev in events.received for x in ev["executions"]]
    assert max(ages) < 1.0, ages
    updates = [x["update_time"] for _, ev in events.received for x in ev["executions"] if x["id"] == e["id"]]
    assert len(updates) == len(set(updates))  # no change sent twice


async def test_deletes_through_the_server_are_announced(api, jp_ws_fetch):
    events = await _subscribe(jp_ws_fetch)
    e = await api.wait_done((await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb"}, expect=201))["id"])
    await api.ok("DELETE", "executions", e["id"], expect=204)
    await events.until(lambda ev: e["id"] in ev["deleted_executions"], timeout=5)


async def test_changes_by_other_processes_arrive(api, jp_ws_fetch, store_path, root):
    """The CLI, in its own process, submits on the same store and creates a schedule: the
    server's subscribers hear of both, and of the run's end (written by its runner)."""
    events = await _subscribe(jp_ws_fetch)
    env = dict(os.environ, NOTEBOOK_EXECUTOR_STORE=f"sqlite://{store_path}")
    cli = [sys.executable, "-m", "notebook_executor"]
    out = subprocess.run(cli + ["submit", str(root / "quick.ipynb"), "--name", "from-cli"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    ev = await events.until(lambda ev: any(x["display_name"] == "from-cli" and x["state"] in TERMINAL
                                           for x in ev["executions"]))
    assert any(x["input_notebook"] == "quick.ipynb" for x in ev["executions"])
    out = subprocess.run(cli + ["schedules", "create", str(root / "quick.ipynb"), "--cron", "0 9 * * *", "--name", "cli-sched"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    ev = await events.until(lambda ev: any(s["display_name"] == "cli-sched" for s in ev["schedules"]), timeout=5)
    schedule_id = next(s["id"] for s in ev["schedules"] if s["display_name"] == "cli-sched")
    # Deletions by the CLI arrive too (the store's tombstones).
    execution_id = next(x["id"] for _, e in events.received for x in e["executions"] if x["display_name"] == "from-cli")
    for args in (["delete", execution_id], ["schedules", "delete", schedule_id]):
        out = subprocess.run(cli + args, capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
    await events.until(lambda ev: execution_id in ev["deleted_executions"], timeout=5)
    await events.until(lambda ev: schedule_id in ev["deleted_schedules"], timeout=5)


async def test_a_schedule_run_updates_the_schedules_latest_result(api, jp_ws_fetch):
    events = await _subscribe(jp_ws_fetch)
    s = await api.ok("POST", "schedules", body={"cron_schedule": "0 9 * * *",
                                                "execution_template": {"input_notebook": "quick.ipynb"}}, expect=201)
    run = await api.ok("POST", "schedules", s["id"], "run", expect=201)
    await events.until(lambda ev: any(x["id"] == s["id"] and x["last_execution"] == {"id": run["id"], "state": "SUCCEEDED"}
                                      for x in ev["schedules"]))
