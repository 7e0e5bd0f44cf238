"""Stores that are missing, foreign, corrupt, removed while in use or not writable: a clear
error at once, never a silent new empty store, never a hang; and records that never lie
about a dead runner."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

import notebook_executor as nx
from conftest import run_cli
from helpers import notebook
from test_executor import runner_processes, wait_for_state


def test_reading_commands_never_create_a_store(tmp_path):
    where = tmp_path / "nowhere" / "store.sqlite"
    for args in (["list"], ["show", "abc"], ["schedules", "list"], ["purge", "--older-than-days", "1"]):
        r = run_cli(*args, "--store", f"sqlite://{where}")
        assert r.returncode == 5 and "no store here" in r.stderr, (args, r.stderr)
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(nx.errors.NotFoundError):
        nx.Executor(f"sqlite://{where}", create_store=False)
    assert not (tmp_path / "nowhere").exists()


def test_unknown_store_schemes_are_refused(tmp_path):
    r = run_cli("list", "--store", "mysql://x", cwd=tmp_path)
    assert r.returncode == 2 and "unsupported store mysql://" in r.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(nx.errors.StoreError):
        nx.Executor("redis://localhost/0")


def test_a_corrupt_store_is_said_at_once(tmp_path):
    bad = tmp_path / "store.sqlite"
    bad.write_bytes(b"this is not a SQLite database " * 100)
    start = time.monotonic()
    r = run_cli("list", "--store", f"sqlite://{bad}")
    assert r.returncode == 2 and "corrupt or not a database" in r.stderr and str(bad) in r.stderr, r.stderr
    assert time.monotonic() - start < 10


def test_a_store_removed_while_in_use_is_an_error_not_a_new_store(tmp_path):
    store = tmp_path / "store.sqlite"
    ex = nx.Executor(f"sqlite://{store}", output_dir=str(tmp_path / "out"))
    e = ex.submit(notebook(tmp_path / "a.ipynb", "1"))
    ex.wait(e.id, timeout=60)
    for companion in ("", "-wal", "-shm"):
        path = tmp_path / f"store.sqlite{companion}"
        if path.exists():
            path.unlink()
    with pytest.raises(nx.errors.StoreError) as error:
        ex.list()
    assert "was removed or replaced" in str(error.value)
    with pytest.raises(nx.errors.StoreError):
        ex.submit(notebook(tmp_path / "b.ipynb", "1"))
    assert not store.exists()


def test_a_store_replaced_while_in_use_is_noticed(tmp_path):
    store = tmp_path / "store.sqlite"
    ex = nx.Executor(f"sqlite://{store}")
    nx.Executor(f"sqlite://{tmp_path / 'other.sqlite'}")
    os.replace(tmp_path / "other.sqlite", store)
    with pytest.raises(nx.errors.StoreError) as error:
        ex.list()
    assert "removed or replaced" in str(error.value)


def test_a_store_whose_companion_files_cannot_be_written_is_refused(tmp_path):
    """A -shm file SQLite cannot write would kill the process with SIGBUS later: refused at
    the start, saying which file. Made unwritable with the immutable attribute, which holds
    for root too."""
    store = tmp_path / "store.sqlite"
    # Made in another process: this one must not have the -shm mapped when it is changed.
    subprocess.run([sys.executable, "-c", f"import notebook_executor as nx; nx.Executor('sqlite://{store}').list()"],
                   check=True, timeout=60)
    shm = tmp_path / "store.sqlite-shm"
    shm.write_bytes(b"\0" * 32768)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(shm)]).returncode != 0:
        pytest.skip("cannot make a file immutable here")
    try:
        r = subprocess.run([sys.executable, "-c", f"import notebook_executor as nx; nx.Executor('sqlite://{store}')"],
                           capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["chattr", "-i", str(shm)])
    assert r.returncode == 1 and r.returncode != -signal.SIGBUS, r.stderr
    assert "store.sqlite-shm cannot be written" in r.stderr, r.stderr


def test_a_dead_runner_never_shows_running(store_url, tmp_path):
    """With nothing else running (no server, no serve, no wait), reading a record whose
    runner died says so."""
    ex = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    e = ex.submit(notebook(tmp_path / "k.ipynb", "import time; time.sleep(60)"))
    wait_for_state(ex, e.id, {"RUNNING"})
    [runner] = runner_processes(store_url)
    kernels = runner.children(recursive=True)
    runner.kill()
    runner.wait(10)
    for k in kernels:
        try:
            k.kill()
        except psutil.Error:
            pass
    # A fresh process reads it: get and list both.
    reader = nx.Executor(store_url)
    assert reader.get(e.id).state == "FAILED"
    assert reader.list().items[0].state == "FAILED"
    assert "runner process ended" in reader.get(e.id).state_message
