"""Schedules end to end: the Python API and CLI over SQLite and PostgreSQL, the missed-runs
rules with an injected clock, exactly-once firing by several `serve` processes with the
real clock, and a `serve` killed and restarted."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import notebook_executor as nx
from conftest import CLI, run_cli
from helpers import notebook, stdout_of
from stores import execute_sql


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_all_done(executor, timeout=120):
    deadline = time.monotonic() + timeout
    for e in executor.list(page_size=1000).items:
        executor.wait(e.id, timeout=max(1, deadline - time.monotonic()))


@pytest.fixture
def executor(store_url, tmp_path):
    return nx.Executor(store_url, output_dir=str(tmp_path / "outputs"))


def test_create_edit_pause_resume_run_now_delete(executor, tmp_path):
    src = notebook(tmp_path / "report.ipynb", "print(n)", params="n = 1")
    s = executor.create_schedule(src, "0 9 * * MON-FRI", "europe/paris", parameters={"n": 2}, missed_runs="skip")
    assert (s.state, s.time_zone, s.cron_schedule, s.missed_runs, s.display_name) == \
        ("ENABLED", "Europe/Paris", "0 9 * * 1-5", "skip", "report")
    nxt = utc(s.next_run_time)
    assert nxt > dt.datetime.now(dt.timezone.utc) and nxt.astimezone(dt.timezone(dt.timedelta(hours=1))).hour == 9
    assert nxt.weekday() < 5 and s.last_execution is None
    assert [x.id for x in executor.list_schedules().items] == [s.id]

    # Edits take effect for the next slot; a template edit merges into the template.
    edited = executor.update_schedule(s.id, cron_schedule="30 6 * * *", time_zone="UTC", parameters={"n": 3})
    assert edited.cron_schedule == "30 6 * * *" and utc(edited.next_run_time).strftime("%H:%M") == "06:30"
    assert edited.execution_template["parameters"] == {"n": 3}
    assert edited.execution_template["input_notebook"] == str(src)

    paused = executor.pause_schedule(s.id)
    assert paused.state == "PAUSED" and paused.next_run_time is None
    assert executor.fire_due(iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30))) == []
    assert executor.list_schedules(state="PAUSED").items[0].id == s.id
    resumed = executor.resume_schedule(s.id)
    # Resuming does not replay the paused period: the next slot is in the future.
    assert resumed.state == "ENABLED" and utc(resumed.next_run_time) > dt.datetime.now(dt.timezone.utc)

    run = executor.run_schedule_now(s.id, parameters={"n": 7})
    done = executor.wait(run.id, timeout=60)
    assert done.state == "SUCCEEDED" and done.schedule_id == s.id and stdout_of(done.output_notebook_uri) == "7\n"
    assert executor.get_schedule(s.id).last_execution == nx.LastExecution(run.id, "SUCCEEDED")
    assert [e.id for e in executor.list(schedule_id=s.id).items] == [run.id]

    executor.delete_schedule(s.id)
    with pytest.raises(nx.NotFoundError):
        executor.get_schedule(s.id)
    with pytest.raises(nx.NotFoundError):
        executor.delete_schedule(s.id)
    assert executor.get(run.id).schedule_id == s.id  # its executions are kept


@pytest.mark.parametrize("cron, tz, field, position", [
    ("0 25 * * *", "UTC", "cron_schedule", 3),
    ("0 9 * * MON-FRX", "UTC", "cron_schedule", 9),
    ("0 9 * *", "UTC", "cron_schedule", None),
    ("0 0 30 2 *", "UTC", "cron_schedule", None),
    ("0 9 * * *", "Mars/Olympus", "time_zone", None),
])
def test_invalid_cron_or_zone_is_a_typed_error_and_writes_nothing(executor, tmp_path, cron, tz, field, position):
    with pytest.raises(nx.InvalidScheduleError) as error:
        executor.create_schedule(notebook(tmp_path / "nb.ipynb", "1"), cron, tz)
    assert (error.value.field, error.value.position) == (field, position)
    assert executor.list_schedules().items == []


def test_bad_template_is_refused(executor, tmp_path):
    with pytest.raises(nx.NotFoundError):
        executor.create_schedule(tmp_path / "missing.ipynb", "* * * * *")
    with pytest.raises(nx.KernelNotFoundError):
        executor.create_schedule(notebook(tmp_path / "nb.ipynb", "1"), "* * * * *", kernel_name="nope")
    with pytest.raises(nx.ValidationError):
        executor.create_schedule(notebook(tmp_path / "nb.ipynb", "1"), "* * * * *", missed_runs="sometimes")
    assert executor.list_schedules().items == []


def test_missed_runs_rules_with_an_injected_clock(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "print('ran')")
    rules = {rule: executor.create_schedule(src, "*/10 * * * *", missed_runs=rule) for rule in ("skip", "run_once", "run_all")}
    first = utc(rules["skip"].next_run_time)
    # Nothing ran from the first slot until 55 minutes after it: six slots passed.
    now = first + dt.timedelta(minutes=55)
    fired = executor.fire_due(iso(now))
    by_rule = {rule: sorted(e.scheduled_time for e in fired if e.schedule_id == s.id) for rule, s in rules.items()}
    slots = [iso(first + dt.timedelta(minutes=10 * i)).replace("Z", ".000000Z") for i in range(6)]
    assert by_rule == {"skip": [], "run_once": [slots[-1]], "run_all": slots}
    # Each slot fires once: the same clock again fires nothing.
    assert executor.fire_due(iso(now)) == []
    for s in rules.values():
        current = executor.get_schedule(s.id)
        assert utc(current.next_run_time) == first + dt.timedelta(minutes=60)
    assert executor.get_schedule(rules["run_once"].id).last_execution.id in {e.id for e in fired}
    wait_all_done(executor)
    assert {executor.get(e.id).state for e in fired} == {"SUCCEEDED"}


def test_a_slot_whose_notebook_is_gone_is_recorded_failed(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "1")
    s = executor.create_schedule(src, "* * * * *")
    src.unlink()
    [e] = executor.fire_due(s.next_run_time)
    assert e.state == "FAILED" and "could not read its notebook" in e.state_message
    assert executor.get_schedule(s.id).last_execution.state == "FAILED"


def test_cli_schedules(store_url, tmp_path):
    store = ("--store", store_url)
    src = notebook(tmp_path / "nb.ipynb", "print(n)", params="n = 1")
    created = run_cli("schedules", "create", src, "--cron", "0 9 * * MON-FRI", "--tz", "Europe/Paris", "-p", "n", "5",
                      "--json", *store)
    assert created.returncode == 0, created.stderr
    s = json.loads(created.stdout)
    assert s["execution_template"]["parameters"] == {"n": 5} and s["state"] == "ENABLED"
    listed = run_cli("schedules", "list", *store)
    assert s["id"][:12] in listed.stdout and "0 9 * * 1-5" in listed.stdout
    assert run_cli("schedules", "pause", s["id"][:8], *store).stdout.strip() == "PAUSED"
    assert run_cli("schedules", "resume", s["id"], *store).stdout.startswith("ENABLED")
    ran = run_cli("schedules", "run", s["id"], "-p", "n", "8", *store)
    assert ran.returncode == 0, ran.stderr
    shown = run_cli("schedules", "show", s["id"], "--json", *store)
    assert json.loads(shown.stdout)["last_execution"]["id"] == ran.stdout.strip()
    bad = run_cli("schedules", "create", src, "--cron", "0 9 * * MON-FRX", *store)
    assert bad.returncode == 2 and "column 9" in bad.stderr
    assert run_cli("schedules", "show", "nope", *store).returncode == 5
    assert run_cli("schedules", "delete", s["id"], *store).returncode == 0
    assert run_cli("schedules", "list", *store).stdout == ""
    nx.Executor(store_url).wait(ran.stdout.strip(), timeout=60)


# ------------------------------------------------------------------------------------------------
# The real clock: `serve` processes
# ------------------------------------------------------------------------------------------------

def start_serve(store_url: str) -> subprocess.Popen:
    return subprocess.Popen([str(CLI), "serve", "--store", store_url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop_serve(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "stopped" in err
    return err


def sleep_until_second(second: float):
    """Sleeps until the given second of the (next) minute."""
    now = time.time()
    target = now - now % 60 + second
    if target <= now:
        target += 60
    time.sleep(target - now)


def minute_slots(after: float, until: float) -> list[str]:
    first = int(after // 60 + 1) * 60
    return [dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:00.000000Z")
            for t in range(first, int(until) + 1, 60)]


def test_three_serve_processes_fire_each_slot_once(request, tmp_path):
    """Both stores at once (the real clock is the slow part): 8 every-minute schedules, three
    `serve` processes per store, two slots: each (schedule, slot) has exactly one execution."""
    urls = [f"sqlite://{tmp_path / 'store.sqlite'}", request.getfixturevalue("postgres").new_database()]
    src = notebook(tmp_path / "nb.ipynb", "print('tick')")
    sleep_until_second(45)
    created_at = time.time()
    executors = [nx.Executor(url, output_dir=str(tmp_path / "out")) for url in urls]
    schedules = {url: [ex.create_schedule(src, "* * * * *").id for _ in range(8)] for url, ex in zip(urls, executors)}
    servers = [start_serve(url) for url in urls for _ in range(3)]
    try:
        sleep_until_second(20)
        sleep_until_second(20)
    finally:
        logs = [stop_serve(p) for p in servers]
    stopped_at = time.time()
    expected = minute_slots(created_at, stopped_at)
    assert len(expected) == 2
    for url, ex in zip(urls, executors):
        executions = ex.list(page_size=1000).items
        for schedule_id in schedules[url]:
            slots = sorted(e.scheduled_time for e in executions if e.schedule_id == schedule_id)
            assert slots == expected, (url, schedule_id)
        # Fired within a moment of the slot.
        lags = [(utc(e.create_time) - utc(e.scheduled_time)).total_seconds() for e in executions]
        assert max(lags) < 5, lags
    assert sum(log.count("fired schedule") for log in logs) == 2 * 8 * 2
    # Executions built ahead of their slot by the losers of each firing left no snapshot.
    staging = tmp_path / "staging"
    assert {p.stem for p in staging.iterdir()} == {e.id for e in executors[0].list(page_size=1000).items}
    for ex in executors:
        wait_all_done(ex, timeout=180)


def test_serve_killed_and_restarted_fires_no_slot_twice(tmp_path):
    url = f"sqlite://{tmp_path / 'store.sqlite'}"
    ex = nx.Executor(url, output_dir=str(tmp_path / "out"))
    src = notebook(tmp_path / "nb.ipynb", "print('tick')")
    sleep_until_second(50)
    s = ex.create_schedule(src, "* * * * *", missed_runs="run_once")
    first_slot = s.next_run_time
    serve = start_serve(url)
    deadline = time.monotonic() + 30
    while not ex.list(schedule_id=s.id).items and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [e.scheduled_time for e in ex.list(schedule_id=s.id).items] == [first_slot]
    os.killpg(serve.pid, signal.SIGKILL)
    serve.wait()
    # The next slot passes while nothing runs; restarted, run_once fires it, once.
    sleep_until_second(10)  # killed just after a slot: this is 10 s into its minute
    sleep_until_second(10)  # and this 10 s after the next slot
    missed_slot = ex.get_schedule(s.id).next_run_time
    assert utc(missed_slot) < dt.datetime.now(dt.timezone.utc)
    restarted = start_serve(url)
    try:
        deadline = time.monotonic() + 15
        while len(ex.list(schedule_id=s.id).items) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
    finally:
        stop_serve(restarted)
    slots = sorted(e.scheduled_time for e in ex.list(schedule_id=s.id).items)
    assert slots == [first_slot, missed_slot]
    assert utc(ex.get_schedule(s.id).next_run_time) > dt.datetime.now(dt.timezone.utc)
    wait_all_done(ex)


def test_async_executor_schedules(store_url, tmp_path):
    import asyncio

    async def scenario():
        ex = nx.AsyncExecutor(store_url, output_dir=str(tmp_path / "out"))
        src = notebook(tmp_path / "nb.ipynb", "print(n)", params="n = 1")
        s = await ex.create_schedule(src, "15 3 * * *", "America/New_York", parameters={"n": 4})
        assert (await ex.get_schedule(s.id)).time_zone == "America/New_York"
        assert (await ex.update_schedule(s.id, display_name="nightly")).display_name == "nightly"
        assert (await ex.pause_schedule(s.id)).state == "PAUSED"
        assert (await ex.resume_schedule(s.id)).state == "ENABLED"
        run = await ex.run_schedule_now(s.id)
        assert (await ex.wait(run.id, timeout=60)).state == "SUCCEEDED"
        assert [x.id for x in (await ex.list_schedules()).items] == [s.id]
        with pytest.raises(nx.InvalidScheduleError):
            await ex.update_schedule(s.id, time_zone="Nowhere/City")
        await ex.delete_schedule(s.id)
        with pytest.raises(nx.NotFoundError):
            await ex.get_schedule(s.id)

    asyncio.run(scenario())


def test_the_store_refuses_a_second_execution_for_a_slot(store_url, request, tmp_path):
    """Even if a schedule's next_run_time went back to a fired slot (a bug, a restored
    backup), the unique (schedule, slot) index keeps that slot at one execution."""
    ex = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    s = ex.create_schedule(notebook(tmp_path / "nb.ipynb", "1"), "*/5 * * * *")
    slot = s.next_run_time
    [first] = ex.fire_due(slot)
    rewind = f"UPDATE schedules SET next_run_time = '{slot}' WHERE id = '{s.id}'"
    postgres = None if store_url.startswith("sqlite://") else request.getfixturevalue("postgres")
    execute_sql(store_url, rewind, postgres)
    assert ex.get_schedule(s.id).next_run_time == slot
    assert ex.fire_due(slot) == []
    assert [e.id for e in ex.list(schedule_id=s.id).items] == [first.id]
    assert ex.get_schedule(s.id).next_run_time > slot  # and it moved on
    staging = Path(store_url.removeprefix("sqlite://")).parent / "staging"
    if store_url.startswith("sqlite://"):
        assert sorted(p.stem for p in staging.iterdir()) == [first.id]  # no stray snapshot
    ex.wait(first.id, timeout=60)
