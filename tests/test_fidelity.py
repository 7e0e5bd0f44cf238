"""Notebooks written for nbclient and papermill (tests/notebooks/fidelity/) behave as there: each is run by
our engine and by nbclient or papermill in the same test, and outputs, counts, metadata and exit class are
compared."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import warnings
from pathlib import Path

import nbformat
import papermill
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4.rwbase import strip_transient

import notebook_executor as nx
from conftest import assert_same_notebook, normalize, printed_params, run_cli, stream_text, without_banners

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _read(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def nbclient_run(path, **options):
    """nbclient as its users run it (coalesce_streams=True), keeping the notebook's key order (so that
    widgets are in the order they were created). Returns (notebook, exception or None)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, coalesce_streams=True,
                            resources={"metadata": {"path": str(path.parent)}}, **options)
    error = None
    try:
        client.execute()
    except Exception as e:  # the caller compares the exception class with ours
        error = e
    strip_transient(nb)  # as nbformat does when it writes (`orig_nbformat`)
    return json.loads(json.dumps(nb)), error


def executed(nb) -> list:
    """What running did to each cell: type, source, count and outputs (papermill also adds empty `tags`
    to every cell's metadata, which says nothing about the run)."""
    return [(c["cell_type"], c["source"], c.get("execution_count"), c.get("outputs")) for c in normalize(nb)["cells"]]


def ours(path, out, **options):
    return nx.execute_notebook(str(path), str(out), **options)


# ------------------------------------------------------------------------------------------------
# 1. Kernel name `python`
# ------------------------------------------------------------------------------------------------


def test_kernel_named_python_runs_on_python3_like_nbclient_and_papermill(corpus, tmp_path):
    src = corpus / "fidelity" / "kernel_python.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert error is None
    assert_same_notebook(mine, ref)
    assert stream_text(mine["cells"][0]) == "3\n"
    assert mine["metadata"]["kernelspec"]["name"] == "python", "the notebook's kernelspec is left as it was"
    pm = papermill.execute_notebook(str(src), str(tmp_path / "pm.ipynb"), progress_bar=False)
    assert executed(mine) == executed(pm)


def test_kernel_named_python_is_accepted_by_submit(corpus, tmp_path):
    e = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}").submit(
        str(corpus / "fidelity" / "kernel_python.ipynb"), output_location=str(tmp_path / "outputs"))
    done = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}").wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message


# ------------------------------------------------------------------------------------------------
# 2. A string parameter that does not convert to its default's type
# ------------------------------------------------------------------------------------------------

UNCONVERTIBLE = {"a_int": "It works", "b_float": "not a float", "d_bool": "maybe", "e_list": "x"}


def test_unconvertible_string_is_passed_as_string_like_papermill(corpus, tmp_path):
    src = corpus / "parameters.ipynb"
    with pytest.warns(UserWarning) as caught:
        mine = ours(src, tmp_path / "ours.ipynb", parameters=UNCONVERTIBLE)
    pm = papermill.execute_notebook(str(src), str(tmp_path / "pm.ipynb"), parameters=UNCONVERTIBLE,
                                    progress_bar=False)
    assert printed_params(mine) == printed_params(pm)
    values, types = (json.loads(x) for x in printed_params(mine))
    assert values["a_int"] == "It works" and types["a_int"] == "str"
    messages = [str(w.message) for w in caught]
    for name, text in UNCONVERTIBLE.items():
        assert any(m.startswith(f"parameter {name}: {json.dumps(text)} does not convert") for m in messages), messages
    assert mine["metadata"]["papermill"]["parameters"] == pm["metadata"]["papermill"]["parameters"] == UNCONVERTIBLE


def test_unconvertible_string_on_the_command_line_warns_on_stderr(corpus, tmp_path):
    proc = run_cli("run", corpus / "parameters.ipynb", tmp_path / "o.ipynb", "-p", "a_int", "It works")
    assert proc.returncode == 0, proc.stderr
    assert 'warning: parameter a_int: "It works" does not convert to int' in proc.stderr
    pm = tmp_path / "pm.ipynb"
    papermill.execute_notebook(str(corpus / "parameters.ipynb"), str(pm), parameters={"a_int": "It works"},
                               progress_bar=False)
    assert printed_params(_read(tmp_path / "o.ipynb")) == printed_params(_read(pm))
    store = f"sqlite://{tmp_path / 'store.sqlite'}"
    proc = run_cli("submit", corpus / "parameters.ipynb", "-p", "a_int", "It works", "--store", store,
                   "--output-location", tmp_path / "outputs", "--wait")
    assert proc.returncode == 0, proc.stderr
    assert 'warning: parameter a_int: "It works" does not convert to int' in proc.stderr


def test_unconvertible_string_warning_is_in_the_record(corpus, tmp_path):
    ex = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}")
    e = ex.submit(str(corpus / "parameters.ipynb"), parameters={"a_int": "It works"},
                  output_location=str(tmp_path / "outputs"))
    assert 'parameter a_int: "It works" does not convert to int' in e.state_message
    done = ex.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED"
    assert 'parameter a_int: "It works" does not convert to int' in done.state_message
    values = json.loads(printed_params(_read(done.output_notebook_uri))[0])
    assert values["a_int"] == "It works"


# ------------------------------------------------------------------------------------------------
# 3. The skip-execution tag
# ------------------------------------------------------------------------------------------------


def forget_stale_outputs(nbclient_nb, index):
    """nbclient leaves a skipped cell as it was, stale outputs and all; papermill (and we) clear every
    code cell before the run (a difference the README lists)."""
    cell = nbclient_nb["cells"][index]
    assert cell["execution_count"] == 9 and cell["outputs"], "nbclient keeps the stale outputs"
    cell["execution_count"], cell["outputs"] = None, []
    return nbclient_nb


def test_skip_execution_tag_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "skip_execution.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert error is None
    assert_same_notebook(mine, forget_stale_outputs(ref, 1))
    skipped = mine["cells"][1]
    assert skipped["execution_count"] is None and skipped["outputs"] == []
    assert "execution" not in skipped["metadata"], "a skipped cell has no timings (as nbclient)"
    assert stream_text(mine["cells"][3]) == "x is 3\n"
    assert [c["execution_count"] for c in mine["cells"]] == [1, None, 2, 3]


def test_skip_tag_is_configurable_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "skip_execution.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb", skip_cells_with_tag="custom-skip")
    ref, error = nbclient_run(src, skip_cells_with_tag="custom-skip")
    assert error is None
    assert_same_notebook(mine, ref)
    assert stream_text(mine["cells"][1]) == "skipped by default\n", "with another tag, skip-execution cells run"
    assert stream_text(mine["cells"][3]) == "x is 2\n"
    proc = run_cli("run", src, tmp_path / "cli.ipynb", "--skip-cells-with-tag", "custom-skip")
    assert proc.returncode == 0, proc.stderr
    assert stream_text(_read(tmp_path / "cli.ipynb")["cells"][3]) == "x is 2\n"


def test_skip_execution_under_papermill(corpus, tmp_path):
    """papermill runs through nbclient, so it skips too; its metadata marks the skipped cell completed."""
    src = corpus / "fidelity" / "skip_execution.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb")
    pm = papermill.execute_notebook(str(src), str(tmp_path / "pm.ipynb"), progress_bar=False)
    assert executed(mine) == executed(pm)
    assert [c["metadata"]["papermill"]["status"] for c in mine["cells"]] == \
        [c["metadata"]["papermill"]["status"] for c in pm["cells"]]


# ------------------------------------------------------------------------------------------------
# 4. IPython history in memory
# ------------------------------------------------------------------------------------------------


def test_ipython_history_in_memory_like_nbclient(corpus, tmp_path, monkeypatch):
    ipython_dir = tmp_path / "ipython"
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))  # the kernels inherit it
    src = corpus / "fidelity" / "history.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert error is None
    assert_same_notebook(mine, ref)
    assert stream_text(mine["cells"][0]) == ":memory:\n"
    history = ipython_dir / "profile_default" / "history.sqlite"
    if history.exists():  # IPython may create the file; it must hold none of our cells
        with sqlite3.connect(history) as db:
            sources = [row[0] for row in db.execute("SELECT source FROM history")]
        assert not any("must not land" in s for s in sources), sources


# ------------------------------------------------------------------------------------------------
# 5. and 6. Widget state and Output widgets
# ------------------------------------------------------------------------------------------------


def canonical_widget_ids(nb) -> dict:
    """The notebook with every widget model id replaced by its rank of creation (W0, W1...), so that two
    runs (whose ids are random) compare."""
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    names = {model_id: f"W{i}" for i, model_id in enumerate(state)}
    text = json.dumps(nb)
    for model_id, name in names.items():
        text = text.replace(model_id, name)
    return json.loads(text)


def test_widget_state_recorded_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "widgets.ipynb"
    returned = ours(src, tmp_path / "ours.ipynb")
    mine = canonical_widget_ids(returned)
    ref, error = nbclient_run(src)
    assert error is None
    ref = canonical_widget_ids(ref)
    assert_same_notebook(mine, ref)
    widgets = mine["metadata"]["widgets"][WIDGET_STATE]
    assert "0000stale" not in widgets["state"], "the input's stale state is replaced"
    slider = next(w for w in widgets["state"].values() if w["model_name"] == "IntSliderModel")
    assert slider["state"]["value"] == 7
    view = mine["cells"][0]["outputs"][0]["data"][WIDGET_VIEW]
    assert view["model_id"] in widgets["state"]
    # the file on disk holds the same state (its keys sorted)
    written = _read(tmp_path / "ours.ipynb")["metadata"]["widgets"]
    assert written == returned["metadata"]["widgets"]


def test_output_widget_takes_its_output_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "output_widget.ipynb"
    mine = canonical_widget_ids(ours(src, tmp_path / "ours.ipynb"))
    ref, error = nbclient_run(src)
    assert error is None
    ref = canonical_widget_ids(ref)
    assert_same_notebook(mine, ref)
    cells = mine["cells"]
    assert [o.get("text") for o in cells[1]["outputs"]] == ["outside\n"], "output inside `with out:` is the widget's"
    assert [o.get("text") for o in cells[2]["outputs"]] == ["after the error\n"], "so is the exception"
    state = mine["metadata"]["widgets"][WIDGET_STATE]["state"]
    out_id = cells[0]["outputs"][0]["data"][WIDGET_VIEW]["model_id"]
    outputs = state[out_id]["state"]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "error"]
    assert outputs[0]["text"] == "inside 1\ninside 2\n"
    assert outputs[2]["ename"] == "ValueError"
    assert stream_text(cells[4]) == "3 1\n", "the widgets' outputs were sent back to the kernel, as a frontend does"


def test_widget_state_of_a_failed_run_is_written(corpus, tmp_path):
    """nbclient and papermill write widget state only when the run succeeds; the partial notebook is
    more useful with its widgets (a difference the README lists)."""
    src = tmp_path / "widgets_then_error.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import ipywidgets as w\nw.IntSlider(value=5)"),
        nbformat.v4.new_code_cell("raise RuntimeError('after the widget')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, src)
    with pytest.raises(nx.CellExecutionError):
        ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert type(error).__name__ == "CellExecutionError"
    assert "widgets" not in ref["metadata"]
    written = _read(tmp_path / "ours.ipynb")["metadata"]["widgets"][WIDGET_STATE]["state"]
    assert [w["state"]["value"] for w in written.values() if w["model_name"] == "IntSliderModel"] == [5]


# ------------------------------------------------------------------------------------------------
# 7. A kernel that dies during a cell
# ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_dead_kernel_keeps_the_announced_count_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "kernel_dies_mid_cell.ipynb"
    out = tmp_path / "ours.ipynb"
    with pytest.raises(nx.KernelDiedError) as info:
        ours(src, out)
    assert info.value.cell_index == 1
    ref, error = nbclient_run(src)
    assert isinstance(error, DeadKernelError)
    written = _read(out)
    cells = without_banners(written)
    assert cells[1]["execution_count"] == ref["cells"][1]["execution_count"] == 2
    assert stream_text(cells[1]) == stream_text(ref["cells"][1]) == "dying\n"
    banner = "".join(written["cells"][0]["source"])
    assert "In [2]" in banner and "In [None]" not in banner
    proc = run_cli("run", src, tmp_path / "cli.ipynb", timeout=60)
    assert proc.returncode == 3, proc.stderr


@pytest.mark.timeout(90)
def test_kernel_killed_at_once_still_gets_its_count(corpus, tmp_path):
    """Killed at once, the kernel may die before it says the count it gave the cell (nbclient then leaves it
    empty); the cell still gets that count, so the banner points at it."""
    src = corpus / "kernel_suicide.ipynb"
    for attempt in range(3):  # the race goes either way: each run must give the count
        out = tmp_path / f"ours-{attempt}.ipynb"
        with pytest.raises(nx.KernelDiedError):
            ours(src, out)
        written = _read(out)
        assert without_banners(written)[1]["execution_count"] == 2
        assert "In [2]" in "".join(written["cells"][0]["source"])
    ref, error = nbclient_run(src)
    assert isinstance(error, DeadKernelError)
    assert ref["cells"][1]["execution_count"] in (None, 2), "nbclient has the same count when it hears it"


# ------------------------------------------------------------------------------------------------
# 8. Per-cell timings
# ------------------------------------------------------------------------------------------------

TIMING_KEYS = {"iopub.status.busy", "iopub.execute_input", "shell.execute_reply", "iopub.status.idle"}
NBCLIENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.mark.parametrize("name", ["streams.ipynb", "fidelity/output_widget.ipynb", "mixed_cells.ipynb"])
def test_cell_timings_like_nbclient(corpus, tmp_path, name):
    src = corpus / name
    mine = ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert error is None
    timed = [sorted(c["metadata"].get("execution", {})) for c in mine["cells"]]
    assert timed == [sorted(c["metadata"].get("execution", {})) for c in ref["cells"]]
    assert any(timed)
    for cell in mine["cells"]:
        execution = cell["metadata"].get("execution")
        if execution is None:
            continue
        assert set(execution) == TIMING_KEYS
        assert all(NBCLIENT_TIME.match(t) for t in execution.values()), execution
        assert execution["iopub.status.busy"] <= execution["iopub.execute_input"] <= execution["iopub.status.idle"]
        assert execution["iopub.execute_input"] <= execution["shell.execute_reply"]
    on_disk = _read(tmp_path / "ours.ipynb")
    assert [c["metadata"].get("execution") for c in on_disk["cells"]] == [c["metadata"].get("execution") for c in mine["cells"]]


# ------------------------------------------------------------------------------------------------
# 9. nbformat 3 in its usual shape
# ------------------------------------------------------------------------------------------------


def test_v3_notebook_without_kernelspec_runs_on_python3_like_nbclient(corpus, tmp_path):
    src = corpus / "fidelity" / "v3_usual.ipynb"
    mine = ours(src, tmp_path / "ours.ipynb")
    ref, error = nbclient_run(src)
    assert error is None
    assert_same_notebook(mine, ref, ignore_minor=True)
    assert stream_text(mine["cells"][1]) == "v3 on python 3\n"
    assert mine["nbformat"] == 4
    proc = run_cli("run", src, tmp_path / "cli.ipynb")
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------------------
# 10. Timeouts
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--timeout", "--cell-timeout"])
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf"])
def test_run_refuses_a_timeout_that_is_no_duration(corpus, tmp_path, option, value):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "v4_4_no_ids.ipynb", out, f"{option}={value}", timeout=30)
    assert proc.returncode == 2, proc.stderr
    field = option.lstrip("-").replace("-", "_")
    assert f"error: {field}: must be a" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    assert not out.exists(), "refused before anything runs"


@pytest.mark.parametrize("option", ["--timeout", "--cell-timeout"])
def test_run_takes_a_huge_timeout_as_no_limit(corpus, tmp_path, option):
    proc = run_cli("run", corpus / "v4_4_no_ids.ipynb", tmp_path / "o.ipynb", option, "1e30", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stream_text(_read(tmp_path / "o.ipynb")["cells"][1]) == "four four\n"


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf])
def test_execute_notebook_refuses_bad_timeouts(corpus, tmp_path, value):
    for kwargs in ({"timeout": value}, {"cell_timeout": value}):
        with pytest.raises(nx.ValidationError) as info:
            nx.execute_notebook(str(corpus / "v4_4_no_ids.ipynb"), str(tmp_path / "o.ipynb"), **kwargs)
        assert info.value.field == next(iter(kwargs))


def test_submit_and_wait_take_the_same_check(corpus, tmp_path):
    ex = nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}")
    src = str(corpus / "v4_4_no_ids.ipynb")
    for field in ("timeout_seconds", "cell_timeout_seconds"):
        for value in (-1.0, 0.0):
            with pytest.raises(nx.ValidationError) as info:
                ex.submit(src, output_location=str(tmp_path / "outputs"), **{field: value})
            assert info.value.field == field
            assert "must be a positive number of seconds" in str(info.value)
        for value in (math.nan, math.inf):
            # Refused before the core sees them: the submission travels as JSON, which has no NaN or infinity.
            with pytest.raises(nx.ValidationError):
                ex.submit(src, output_location=str(tmp_path / "outputs"), **{field: value})
    e = ex.submit(src, output_location=str(tmp_path / "outputs"), timeout_seconds=1e30, cell_timeout_seconds=1e300)
    for value in (-1.0, math.nan, math.inf):
        with pytest.raises(nx.ValidationError):
            ex.wait(e.id, timeout=value)
    assert ex.wait(e.id, timeout=1e30).state == "SUCCEEDED"
    assert ex.wait(e.id, timeout=0).state == "SUCCEEDED", "a wait of 0 looks once"
