"""The execution service against real stores (SQLite and PostgreSQL, the same suite) and
real runner processes and kernels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import notebook_executor as nx
from helpers import notebook, stdout_of
from stores import execute_sql, query_sql, write_old_store


@pytest.fixture
def executor(store_url, tmp_path):
    return nx.Executor(store_url, output_dir=str(tmp_path / "outputs"))


def runner_processes(store_url: str):
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "notebook_executor._runner" in cmd and store_url in cmd:
            out.append(p)
    return out


def wait_for_state(executor, id, states, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e = executor.get(id)
        if e.state in states:
            return e
        time.sleep(0.05)
    e = executor.get(id)
    raise AssertionError(f"{id} still {e.state} ({e.state_message}), expected one of {states}")


def test_submit_returns_at_once_and_runs_in_background(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "print(n * 2)", params="n = 1")
    started = time.monotonic()
    e = executor.submit(src, parameters={"n": 21}, display_name="double", labels={"team": "a"})
    assert time.monotonic() - started < 2
    assert e.state in ("QUEUED", "PREPARING") and e.display_name == "double" and e.kernel_name == "python3"
    done = executor.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message
    assert done.progress.cells_done == done.progress.cells_total == 3
    assert done.start_time and done.end_time and done.create_time <= done.start_time <= done.end_time
    assert stdout_of(done.output_notebook_uri) == "42\n"
    # papermill's metadata names the notebook submitted, not the snapshot the run read.
    executed = json.loads(Path(done.output_notebook_uri).read_text())
    assert executed["metadata"]["papermill"]["input_path"] == done.input_notebook == str(src)
    name = Path(done.output_notebook_uri).name
    assert name.startswith("nb-") and name.endswith(f"-{e.id[:8]}.ipynb")
    # The rendered result sits next to the notebook, under the same name.
    assert done.output_html_uri == done.output_notebook_uri.removesuffix(".ipynb") + ".html"
    page = Path(done.output_html_uri).read_text()
    assert "<title>double</title>" in page and '<pre class="nx-output nx-stdout">42\n</pre>' in page
    assert done.labels == {"team": "a"}


def test_input_is_snapshotted_at_submission(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "import time; time.sleep(1)")
    first = executor.submit(src)
    snap = notebook(tmp_path / "nb2.ipynb", "print('snapshot')")
    queued = executor.submit(snap)
    notebook(snap, "print('edited later')")  # edit after submission
    assert stdout_of(executor.wait(queued.id, timeout=60).output_notebook_uri) == "snapshot\n"
    executor.wait(first.id, timeout=60)


@pytest.mark.parametrize(
    "make, kwargs, error",
    [
        (lambda d: d / "missing.ipynb", {}, nx.NotFoundError),
        (lambda d: (d / "bad.ipynb").write_text("{nope") and d / "bad.ipynb", {}, nx.NotebookFormatError),
        (lambda d: notebook(d / "p.ipynb", "1", params="n = 1"), {"parameters": {"1n": 2}}, nx.ParameterError),
        (lambda d: notebook(d / "k.ipynb", "1"), {"kernel_name": "no-such-kernel"}, nx.KernelNotFoundError),
        (lambda d: notebook(d / "b.ipynb", "1"), {"backend": "vertex"}, nx.ValidationError),
        (lambda d: notebook(d / "m.ipynb", "1"), {"machine_type": "n1-standard-4"}, nx.ValidationError),
        (lambda d: notebook(d / "a.ipynb", "1"), {"accelerator_count": 1}, nx.ValidationError),
        (lambda d: notebook(d / "t.ipynb", "1"), {"timeout_seconds": -1}, nx.ValidationError),
        (lambda d: notebook(d / "o.ipynb", "1"), {"output_location": "/proc/nope"}, nx.ValidationError),
        (lambda d: notebook(d / "g.ipynb", "1"), {"output_location": "gs://bucket/x"}, nx.ValidationError),
        (lambda d: notebook(d / "f.ipynb", "1"), {"no_such_field": 1}, TypeError),
        (lambda d: notebook(d / "w.ipynb", "1"), {"timeout_seconds": "soon"}, nx.ValidationError),
    ],
    ids=["missing", "bad-json", "bad-parameter", "unknown-kernel", "backend", "machine-type", "accelerator",
         "timeout", "unwritable-output", "gcs-output", "unknown-field", "wrong-type"],
)
def test_bad_input_is_a_typed_error_and_writes_nothing(executor, tmp_path, make, kwargs, error):
    src = make(tmp_path)
    with pytest.raises(error):
        executor.submit(src, **kwargs)
    assert executor.list().items == []
    staging = Path(executor.store_url.replace("sqlite://", "")).parent / "staging"
    if staging.exists():
        assert list(staging.iterdir()) == []


def test_a_value_of_the_wrong_type_names_its_field(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "1")
    with pytest.raises(nx.ValidationError) as wrong:
        executor.submit(src, accelerator_count="two")
    assert wrong.value.field == "accelerator_count" and "line 1" not in str(wrong.value)
    with pytest.raises(nx.ValidationError) as nested:
        executor.submit(src, parameters={"n": 1}, kernel_name=["python3"])
    assert nested.value.field == "kernel_name"


def test_idempotency_token(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "print(1)")
    a = executor.submit(src, idempotency_token="tok-1")
    b = executor.submit(src, idempotency_token="tok-1")
    assert a.id == b.id
    with pytest.raises(nx.ConflictError):
        executor.submit(src, idempotency_token="tok-1", parameters={"x": 1})
    executor.wait(a.id, timeout=60)
    assert len(executor.list().items) == 1


def test_failed_expired_and_cell_timeout(executor, tmp_path):
    failing = executor.submit(notebook(tmp_path / "f.ipynb", "raise ValueError('boom')"))
    expiring = executor.submit(notebook(tmp_path / "e.ipynb", "import time; time.sleep(60)"), timeout_seconds=1)
    slow_cell = executor.submit(notebook(tmp_path / "s.ipynb", "import time; time.sleep(60)"), cell_timeout_seconds=1)
    f = executor.wait(failing.id, timeout=60)
    assert f.state == "FAILED" and "ValueError: boom" in f.state_message
    assert executor.wait(expiring.id, timeout=60).state == "EXPIRED"
    s = executor.wait(slow_cell.id, timeout=60)
    assert s.state == "FAILED" and "cell timeout" in s.state_message
    assert Path(f.output_notebook_uri).exists()
    assert '<span class="ansi-fg-1">ValueError</span>' in Path(f.output_html_uri).read_text()


def test_cancel_queued_and_running(store_url, tmp_path):
    executor = nx.Executor(store_url, concurrency=1, output_dir=str(tmp_path / "out"))
    long = executor.submit(notebook(tmp_path / "l.ipynb", "print('started', flush=True)", "import time; time.sleep(60)"))
    queued = executor.submit(notebook(tmp_path / "q.ipynb", "print('never')"))
    wait_for_state(executor, long.id, {"RUNNING"})
    assert executor.cancel(queued.id).state == "CANCELLED"
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and executor.get(long.id).progress.cells_done < 1:
        time.sleep(0.05)
    assert executor.cancel(long.id).state in ("CANCELLING", "CANCELLED")
    done = executor.wait(long.id, timeout=30)
    assert done.state == "CANCELLED"
    assert stdout_of(done.output_notebook_uri) == "started\n"  # partial output kept
    assert "started" in Path(done.output_html_uri).read_text()
    q = executor.get(queued.id)
    assert q.state == "CANCELLED" and q.start_time is None and not Path(q.output_notebook_uri).exists()
    with pytest.raises(nx.ConflictError):
        executor.cancel(long.id)


def test_cancel_while_preparing(store_url, tmp_path, monkeypatch):
    # A kernel that takes seconds to start keeps the execution in PREPARING.
    spec_dir = tmp_path / "jupyter" / "kernels" / "slow"
    spec_dir.mkdir(parents=True)
    launch = f"sleep 5; exec {sys.executable} -m ipykernel_launcher -f {{connection_file}}"
    (spec_dir / "kernel.json").write_text(json.dumps(
        {"argv": ["sh", "-c", launch], "display_name": "Slow", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    executor = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    e = executor.submit(notebook(tmp_path / "p.ipynb", "print('ran')"), kernel_name="slow")
    wait_for_state(executor, e.id, {"PREPARING"})
    assert executor.cancel(e.id).state in ("CANCELLING", "CANCELLED")
    done = executor.wait(e.id, timeout=30)
    assert done.state == "CANCELLED" and stdout_of(done.output_notebook_uri) == ""
    assert not [p for p in psutil.process_iter(["cmdline"]) if launch in " ".join(p.info["cmdline"] or [])]


def test_store_written_by_schema_v1_opens_and_keeps_its_records(store_url, request, tmp_path):
    postgres = request.getfixturevalue("postgres") if store_url.startswith("postgres") else None
    write_old_store(store_url, Path(__file__).parent / "schemas" / "v1.sql", postgres)
    executor = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    old = executor.get("0123456789abcdef0123456789abcdef")
    assert (old.state, old.display_name, old.parameters, old.backend) == ("SUCCEEDED", "old run", {"n": 3}, "local")
    assert old.progress.cells_done == 2 and old.end_time.startswith("2026-01-02T03:04:07")
    # The migrated store takes new work, and lists old and new records together.
    new = executor.wait(executor.submit(notebook(tmp_path / "nb.ipynb", "print(1)")).id, timeout=60)
    assert new.state == "SUCCEEDED"
    assert [e.id for e in executor.list().items] == [new.id, old.id]
    # Opening again (already migrated) changes nothing.
    assert nx.Executor(store_url).get(old.id) == executor.get(old.id)


def test_runner_killed_mid_run_ends_failed(executor, store_url, tmp_path):
    e = executor.submit(notebook(tmp_path / "k.ipynb", "import time; time.sleep(60)"))
    wait_for_state(executor, e.id, {"RUNNING"})
    runners = runner_processes(store_url)
    assert len(runners) == 1
    [kernel] = runners[0].children()
    [connection_file] = [a for a in kernel.cmdline() if a.endswith("kernel.json")]
    kernel_dir = Path(connection_file).parent
    runners[0].send_signal(signal.SIGKILL)
    done = executor.wait(e.id, timeout=30)
    assert done.state == "FAILED"
    assert "runner process ended without recording a result" in done.state_message
    # The killed runner could not remove its kernel's folder; the next runner does.
    assert kernel_dir.exists()
    assert executor.wait(executor.submit(notebook(tmp_path / "next.ipynb", "1")).id, timeout=60).state == "SUCCEEDED"
    assert not kernel_dir.exists()


def test_recovery_of_dead_runners_leaves_other_backends_alone(executor, store_url, request, tmp_path):
    """A remote backend's running executions hold no local runner: the local backend's
    recovery must not fail them."""
    remote = executor.submit(notebook(tmp_path / "r.ipynb", "1"))
    executor.wait(remote.id, timeout=60)
    psutil.wait_procs(runner_processes(store_url), timeout=30)  # its runner is done with it
    postgres = request.getfixturevalue("postgres") if store_url.startswith("postgresql") else None
    execute_sql(store_url, f"UPDATE executions SET state = 'RUNNING', backend = 'remote', runner_id = NULL, "
                           f"end_time = NULL WHERE id = '{remote.id}';", postgres)
    local = executor.submit(notebook(tmp_path / "l.ipynb", "1"))  # dispatch: the local recovery runs
    assert executor.wait(local.id, timeout=60).state == "SUCCEEDED"
    assert executor.get(remote.id).state == "RUNNING"


def test_execution_outlives_the_submitting_process(store_url, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "import time; time.sleep(1); print('done')")
    code = (
        "import notebook_executor as nx, sys; "
        f"e = nx.Executor({store_url!r}, output_dir={str(tmp_path / 'out')!r}).submit({str(src)!r}); print(e.id)"
    )
    id = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    executor = nx.Executor(store_url)
    done = executor.wait(id, timeout=60)
    assert done.state == "SUCCEEDED" and stdout_of(done.output_notebook_uri) == "done\n"


def test_list_filters_and_pages(executor, tmp_path):
    ok = notebook(tmp_path / "ok.ipynb", "1")
    bad = notebook(tmp_path / "bad.ipynb", "1/0")
    ids = [executor.submit(ok if i % 3 else bad).id for i in range(7)]
    for id in ids:
        executor.wait(id, timeout=60)
    seen, token = [], None
    while True:
        page = executor.list(page_size=3, page_token=token)
        seen += [e.id for e in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    failed = executor.list(state="FAILED").items
    assert sorted(e.id for e in failed) == sorted(ids[0::3])
    with pytest.raises(nx.ValidationError):
        executor.list(state="NOPE")
    with pytest.raises(nx.ValidationError):
        executor.list(page_token="garbage!")


def test_delete_and_import(executor, tmp_path):
    e = executor.wait(executor.submit(notebook(tmp_path / "nb.ipynb", "print(5)")).id, timeout=60)
    dest = tmp_path / "root" / "imported_notebook_jobs"
    first = executor.import_result(e.id, dest)
    second = executor.import_result(e.id, dest)
    assert first != second and Path(first).exists() and Path(second).exists()
    assert stdout_of(second) == "5\n"
    kept = executor.wait(executor.submit(notebook(tmp_path / "k.ipynb", "1")).id, timeout=60)
    executor.delete(kept.id, keep_outputs=True)
    assert Path(kept.output_notebook_uri).exists() and Path(kept.output_html_uri).exists()
    executor.delete(e.id)
    assert not Path(e.output_notebook_uri).exists() and not Path(e.output_html_uri).exists()
    with pytest.raises(nx.NotFoundError):
        executor.get(e.id)
    with pytest.raises(nx.NotFoundError):
        executor.delete(e.id)


def test_burst_and_two_submitting_processes(store_url, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "print('x')")
    code = (
        "import notebook_executor as nx, sys\n"
        f"ex = nx.Executor({store_url!r}, output_dir={str(tmp_path / 'out')!r})\n"
        "print(' '.join(ex.submit(sys.argv[1]).id for _ in range(int(sys.argv[2]))))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(src), "20"], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    ids = [id for p in procs for id in p.communicate(timeout=120)[0].split()]
    assert len(set(ids)) == 40
    executor = nx.Executor(store_url)
    for id in ids:
        done = executor.wait(id, timeout=180)
        assert done.state == "SUCCEEDED", done.state_message
        # run exactly once: one output, one execution of its cell
        assert stdout_of(done.output_notebook_uri) == "x\n"
    # with no work left, runners exit by themselves
    deadline = time.monotonic() + 10
    while runner_processes(store_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runner_processes(store_url) == []


def test_async_executor_in_a_running_loop(store_url, tmp_path):
    import asyncio

    async def main():
        executor = nx.AsyncExecutor(store_url, output_dir=str(tmp_path / "out"))
        src = notebook(tmp_path / "nb.ipynb", "print('async')")
        ticks = 0

        async def ticker():  # the loop keeps running while the core works
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        e = await executor.submit(src)
        done = await executor.wait(e.id, timeout=60)
        page = await executor.list()
        with pytest.raises(nx.NotFoundError):
            await executor.get("nope")
        tick_task.cancel()
        return done, page, ticks

    done, page, ticks = asyncio.run(main())
    assert done.state == "SUCCEEDED" and stdout_of(done.output_notebook_uri) == "async\n"
    assert [e.id for e in page.items] == [done.id]
    assert ticks > 10


def test_retention_purges_old_and_surplus_scheduled_runs(executor, tmp_path):
    src = notebook(tmp_path / "nb.ipynb", "1")
    plain = executor.wait(executor.submit(src).id, timeout=60)
    scheduled = [executor.wait(executor.submit(src, schedule_id="s1").id, timeout=60) for _ in range(3)]
    assert executor.purge(keep_per_schedule=1) == 2
    left = {e.id for e in executor.list().items}
    assert left == {plain.id, scheduled[-1].id}
    assert not Path(scheduled[0].output_notebook_uri).exists()
    assert executor.purge(older_than_days=1) == 0  # nothing that old
    assert executor.purge(older_than_days=1e12) == 0  # older than the calendar: a cutoff, not a crash
    assert executor.purge(older_than_days=1e-9) == 2  # everything that has ended
    assert executor.list().items == []
    for bad in (0, -1):  # 0 would delete everything: never by a slip
        with pytest.raises(nx.ValidationError):
            executor.purge(older_than_days=bad)


def test_purge_sweeps_snapshots_without_a_record(executor, tmp_path):
    kept = executor.wait(executor.submit(notebook(tmp_path / "nb.ipynb", "1")).id, timeout=60)
    staging = Path(executor.store_url.replace("sqlite://", "")).parent / "staging"
    if not executor.store_url.startswith("sqlite://"):
        pytest.skip("the PostgreSQL store stages in the shared Jupyter data dir")
    stray, fresh = staging / ("0" * 32 + ".ipynb"), staging / ("1" * 32 + ".ipynb")
    for path in (stray, fresh):
        path.write_text("{}")
    two_hours_ago = time.time() - 7200
    os.utime(stray, (two_hours_ago, two_hours_ago))
    os.utime(staging / f"{kept.id}.ipynb", (two_hours_ago, two_hours_ago))
    executor.purge(older_than_days=30)
    assert sorted(p.name for p in staging.iterdir()) == sorted([f"{kept.id}.ipynb", fresh.name])


def test_cli_submit_list_show_cancel_delete_import(store_url, tmp_path):
    from conftest import run_cli

    src = notebook(tmp_path / "nb.ipynb", "print(n)", params="n = 0")
    store = ["--store", store_url]
    proc = run_cli("submit", src, "-p", "n", "7", "--wait", "--json", *store, timeout=120)
    assert proc.returncode == 0, proc.stderr
    execution = json.loads(proc.stdout)
    assert execution["state"] == "SUCCEEDED" and execution["parameters"] == {"n": 7}
    listed = run_cli("list", "--json", *store)
    assert [e["id"] for e in json.loads(listed.stdout)["items"]] == [execution["id"]]
    table = run_cli("list", *store).stdout
    assert "SUCCEEDED" in table and execution["id"][:12] in table
    shown = run_cli("show", execution["id"][:8], *store)
    assert shown.returncode == 0 and "state:    SUCCEEDED" in shown.stdout
    imported = run_cli("import", execution["id"], str(tmp_path / "imp"), *store)
    assert imported.returncode == 0 and Path(imported.stdout.strip()).exists()
    assert run_cli("cancel", execution["id"], *store).returncode == 2  # already finished: a conflict
    failing = run_cli("submit", notebook(tmp_path / "f.ipynb", "1/0"), "--wait", *store, timeout=120)
    assert failing.returncode == 1 and "FAILED" in failing.stdout
    assert run_cli("delete", execution["id"], *store).returncode == 0
    missing = run_cli("show", execution["id"], *store)
    assert missing.returncode == 5 and "not found" in missing.stderr
    bad = run_cli("submit", src, "--backend", "nope", *store)
    assert bad.returncode == 2 and "unknown backend" in bad.stderr



@pytest.mark.parametrize("cells, options, code, kind, state", [
    (["1/0"], [], 1, "cell_error", "FAILED"),
    (["print('alive', flush=True)", "import os; os._exit(1)"], [], 3, "kernel_died", "FAILED"),
    (["import time; time.sleep(30)"], ["--cell-timeout", "1"], 4, "timeout", "FAILED"),
    (["import time; time.sleep(30)"], ["--timeout", "2"], 4, "timeout", "EXPIRED"),
])
def test_submit_wait_exits_as_run_does_for_the_same_end(store_url, tmp_path, cells, options, code, kind, state):
    """SPEC's exit codes, for a background run: the record keeps what kind of failure ended it."""
    from conftest import run_cli

    store = ["--store", store_url]
    done = run_cli("submit", notebook(tmp_path / "nb.ipynb", *cells), "--wait", "--json", *options, *store, timeout=120)
    assert done.returncode == code, done.stderr
    execution = json.loads(done.stdout)
    assert (execution["state"], execution["failure_kind"]) == (state, kind), execution
    assert nx.Executor(store_url).get(execution["id"]).failure_kind == kind


def test_a_cancelled_wait_exits_130_and_a_success_records_no_failure(executor, store_url, tmp_path):
    from conftest import CLI

    ok = executor.wait(executor.submit(notebook(tmp_path / "ok.ipynb", "1")).id, timeout=60)
    assert ok.failure_kind == ""
    slow = notebook(tmp_path / "slow.ipynb", "import time; time.sleep(60)")
    waiting = subprocess.Popen([str(CLI), "submit", str(slow), "--wait", "--json", "--store", store_url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (running := executor.list(state="RUNNING").items):
            assert time.monotonic() < deadline and waiting.poll() is None, waiting.stderr and waiting.stderr.read()
            time.sleep(0.1)
        executor.cancel(running[0].id)
        out, err = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    assert waiting.returncode == 130, err
    assert json.loads(out)["state"] == "CANCELLED" and json.loads(out)["failure_kind"] == ""


def test_without_a_store_url_the_store_is_a_wal_sqlite_file_in_the_jupyter_data_dir(tmp_path):
    from conftest import run_cli

    data = tmp_path / "jupyter-data"
    env = {"JUPYTER_DATA_DIR": str(data), "NOTEBOOK_EXECUTOR_STORE": ""}
    src = notebook(tmp_path / "nb.ipynb", "print('kept')")
    done = run_cli("submit", src, "--wait", "--json", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    store = data / "notebook_executor" / "store.sqlite"
    assert query_sql(store, "PRAGMA journal_mode") == [("wal",)]
    assert query_sql(store, "SELECT id, state FROM executions") == [(execution["id"], "SUCCEEDED")]
    # The results go beside it by default.
    assert execution["output_notebook_uri"].startswith(str(data / "notebook_executor" / "outputs") + "/")
    assert stdout_of(execution["output_notebook_uri"]) == "kept\n"


def test_burst_of_500_all_reach_a_terminal_state(store_url, tmp_path):
    executor = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    src = notebook(tmp_path / "nb.ipynb", "1")
    ids = [executor.submit(src).id for _ in range(500)]
    finals = [executor.wait(id, timeout=600) for id in ids]
    failed = [(e.id, e.state, e.state_message) for e in finals if e.state != "SUCCEEDED"]
    assert failed == []
    assert len({executor.get(id).output_notebook_uri for id in ids}) == 500
