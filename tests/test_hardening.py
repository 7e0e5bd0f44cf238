"""Bad input and extreme numbers at the Python and CLI boundaries: a typed error naming the
field, nothing written, never a panic or a traceback."""

from __future__ import annotations

import math
import os

import psutil
import pytest

import notebook_executor as nx
from conftest import run_cli
from helpers import notebook
from test_executor import runner_processes, wait_for_state


@pytest.fixture
def executor(tmp_path):
    return nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "out"))


@pytest.mark.parametrize("value", [object(), float("nan"), float("inf"), {1, 2}])
def test_a_parameter_that_cannot_travel_is_a_parameter_error(executor, tmp_path, value):
    with pytest.raises(nx.ParameterError) as error:
        executor.submit(notebook(tmp_path / "a.ipynb", "1"), parameters={"x": value})
    assert error.value.name == "x"
    assert executor.list().items == []


@pytest.mark.parametrize("field", ["timeout_seconds", "cell_timeout_seconds"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 0])
def test_timeouts_out_of_range_name_their_field(executor, tmp_path, field, value):
    with pytest.raises(nx.errors.ValidationError) as error:
        executor.submit(notebook(tmp_path / "a.ipynb", "1"), **{field: value})
    assert error.value.field == field
    assert executor.list().items == []


def test_a_huge_timeout_is_no_limit(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "a.ipynb", "print(1)"), timeout_seconds=1e19, cell_timeout_seconds=1e308)
    assert executor.wait(e.id, timeout=1e30).state == "SUCCEEDED"


def test_wait_with_an_infinite_timeout_is_refused(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "a.ipynb", "1"))
    with pytest.raises(nx.errors.ValidationError):
        executor.wait(e.id, timeout=math.inf)
    executor.wait(e.id, timeout=60)


def test_retention_numbers(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "a.ipynb", "1"))
    executor.wait(e.id, timeout=60)
    assert executor.purge(older_than_days=1e300) == 0  # nothing ended before 1970
    assert executor.purge(keep_per_schedule=99999999999999999999) == 0
    for bad in ({"older_than_days": 0}, {"older_than_days": -1}, {"older_than_days": math.inf},
                {"older_than_days": math.nan}, {"keep_per_schedule": 0}, {"keep_per_schedule": -1},
                {"keep_per_schedule": True}, {"keep_per_schedule": 2.5}):
        with pytest.raises(nx.errors.ValidationError):
            executor.purge(**bad)
    assert [x.id for x in executor.list().items] == [e.id]
    store = executor.store_url
    r = run_cli("purge", "--older-than-days", "0", "--store", store)
    assert r.returncode == 2 and "older_than_days" in r.stderr, r.stderr
    r = run_cli("purge", "--keep-per-schedule", "99999999999999999999", "--store", store)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert [x.id for x in executor.list().items] == [e.id]


def test_concurrency_below_one_is_refused(tmp_path):
    for bad in (0, -1):
        with pytest.raises(nx.errors.ValidationError) as error:
            nx.Executor(f"sqlite://{tmp_path / 's.sqlite'}", concurrency=bad)
        assert error.value.field == "concurrency"


def test_store_is_a_global_option_too(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "a.ipynb", "1"))
    executor.wait(e.id, timeout=60)
    for args in (["--store", executor.store_url, "list", "--json"], ["list", "--json", "--store", executor.store_url]):
        r = run_cli(*args)
        assert r.returncode == 0 and e.id in r.stdout, (args, r.stderr)


def test_runners_run_in_their_own_session(store_url, tmp_path):
    ex = nx.Executor(store_url, output_dir=str(tmp_path / "out"))
    e = ex.submit(notebook(tmp_path / "k.ipynb", "import time; time.sleep(30)"))
    wait_for_state(ex, e.id, {"RUNNING"})
    [runner] = runner_processes(store_url)
    assert os.getsid(runner.pid) == runner.pid != os.getsid(0)
    ex.cancel(e.id)
    assert ex.wait(e.id, timeout=60).state == "CANCELLED"
    psutil.wait_procs([runner], timeout=30)


def test_text_fields_are_capped_naming_the_field(executor, tmp_path):
    src = notebook(tmp_path / "a.ipynb", "1")
    for fields, field in [({"display_name": "x" * 100_000}, "display_name"),
                          ({"labels": {f"k{i}": "v" for i in range(100)}}, "labels"),
                          ({"machine_type": "m" * 5000}, "machine_type")]:
        with pytest.raises(nx.errors.ValidationError) as error:
            executor.submit(src, **fields)
        assert error.value.field == field
    with pytest.raises(nx.ParameterError):
        executor.submit(src, parameters={"big": "x" * (2 * 1024 * 1024)})
    assert executor.list().items == []


def test_a_schedule_refuses_a_notebook_swapped_for_a_link(executor, tmp_path):
    """The schedule keeps the real path it was made with; a link put there later (say to a
    notebook outside the server's root) is not followed at fire time."""
    inside = tmp_path / "root"
    inside.mkdir()
    nb = notebook(inside / "daily.ipynb", "print('inside')")
    outside = notebook(tmp_path / "outside.ipynb", "print('outside')")
    s = executor.create_schedule(nb, "0 6 * * *")
    nb.unlink()
    nb.symlink_to(outside)
    [e] = executor.fire_due(now=s.next_run_time)
    assert e.state == "FAILED" and "symbolic link" in e.state_message, e.state_message
