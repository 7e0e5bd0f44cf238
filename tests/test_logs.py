"""Logs of executions of every backend: a local run's are its notebook's output (streams and
errors) as far as it got; a Ray job's come from Ray (tests/test_ray.py)."""

from __future__ import annotations

import time

import pytest

import notebook_executor as nx
from conftest import run_cli
from helpers import notebook


def test_logs_of_a_local_run_are_its_notebooks_output(tmp_path):
    ex = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "outputs"))
    e = ex.submit(notebook(tmp_path / "local.ipynb", "print('one')", "import sys; print('two', file=sys.stderr)",
                           "raise KeyError('k')"))
    assert ex.wait(e.id, timeout=90).state == "FAILED"
    logs = ex.logs(e.id)
    assert logs.source == "notebook"
    assert logs.text.startswith("one\ntwo\n") and "KeyError: 'k'" in logs.text and "\x1b[" not in logs.text
    r = run_cli("logs", e.id[:8], "--store", ex.store_url)
    assert r.returncode == 0 and r.stdout == logs.text
    with pytest.raises(nx.errors.NotFoundError):
        ex.logs("nope")


def test_logs_of_a_running_or_queued_execution(tmp_path):
    ex = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "outputs"), concurrency=1)
    slow = ex.submit(notebook(tmp_path / "slow.ipynb", "print('first', flush=True)", "import time; time.sleep(60)"))
    queued = ex.submit(notebook(tmp_path / "queued.ipynb", "print('never')"))
    deadline = time.monotonic() + 60
    while ex.get(slow.id).progress.cells_done < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ex.logs(slow.id).text == "first\n"
    assert ex.logs(queued.id).text == ""
    for e in (queued, slow):
        ex.cancel(e.id)
        ex.wait(e.id, timeout=60)
