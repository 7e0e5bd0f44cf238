"""Failures: cell errors, timeouts, dead and missing kernels, bad files. Every one of them must be fast,
leave a useful output notebook where there is one, and leave no kernel behind (the autouse
`no_leftover_kernels` fixture of conftest.py checks that after every test)."""

from __future__ import annotations

import json
import re
import time

import nbformat
import papermill
import pytest

import notebook_executor as nx
from conftest import assert_same_notebook, run_nbclient, stream_text, tags, without_banners

BANNER_TAG = "papermill-error-cell-tag"


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _validate(nb_json):
    nbformat.validate(nbformat.from_dict(nb_json))


def test_exception_hierarchy():
    for name in [
        "NotebookFormatError",
        "ParameterError",
        "KernelNotFoundError",
        "KernelDiedError",
        "CellExecutionError",
        "ExecutionTimeoutError",
    ]:
        cls = getattr(nx, name)
        assert issubclass(cls, nx.NotebookExecutorError), name
    assert issubclass(nx.NotebookExecutorError, Exception)


# ------------------------------------------------------------------------------------------------
# A cell raises
# ------------------------------------------------------------------------------------------------


def test_cell_error_attributes(corpus, tmp_path):
    out = tmp_path / "err.out.ipynb"
    with pytest.raises(nx.CellExecutionError) as info:
        nx.execute_notebook(str(corpus / "error.ipynb"), str(out))
    e = info.value
    assert e.cell_index == 2
    assert e.ename == "ValueError"
    assert e.evalue == "boom: bad välue"
    assert isinstance(e.traceback, list) and e.traceback
    assert all(isinstance(line, str) for line in e.traceback)
    assert "ValueError" in "\n".join(e.traceback)
    msg = str(e)
    assert "ValueError" in msg and "boom: bad välue" in msg
    # The cell as its prompt shows it, in the result page and in JupyterLab.
    assert msg.startswith(f"In [{e.execution_count}] raised ValueError: "), msg


def test_cell_error_output_notebook_has_banners(corpus, tmp_path):
    out = tmp_path / "err.out.ipynb"
    with pytest.raises(nx.CellExecutionError):
        nx.execute_notebook(str(corpus / "error.ipynb"), str(out))
    nb = _read(out)
    _validate(nb)
    cells = nb["cells"]
    banners = [i for i, c in enumerate(cells) if BANNER_TAG in tags(c)]
    assert banners == [0, 3], [(c["cell_type"], tags(c)) for c in cells]
    assert all(cells[i]["cell_type"] == "markdown" for i in banners)
    # input cells follow, in order, with the anchor banner right before the failing cell
    assert [c.get("id") for c in cells if BANNER_TAG not in tags(c)] == ["error-0", "error-1", "error-2", "error-3"]
    failing = cells[4]
    assert [o["output_type"] for o in failing["outputs"]] == ["error"]
    assert failing["outputs"][0]["ename"] == "ValueError"
    assert stream_text(cells[2]) == "ok before the error\n"
    assert cells[5]["outputs"] == [] and cells[5]["execution_count"] is None, "cells after the failure must not run"
    # papermill metadata
    assert nb["metadata"]["papermill"]["exception"] is True
    assert cells[2]["metadata"]["papermill"]["status"] == "completed"
    assert cells[4]["metadata"]["papermill"]["status"] == "failed"
    assert cells[4]["metadata"]["papermill"]["exception"] is True
    assert cells[5]["metadata"]["papermill"]["status"] == "pending"


def test_cell_error_output_matches_papermill(corpus, tmp_path):
    ours_out = tmp_path / "ours.ipynb"
    pm_out = tmp_path / "pm.ipynb"
    with pytest.raises(nx.CellExecutionError) as ours_err:
        nx.execute_notebook(str(corpus / "error.ipynb"), str(ours_out))
    with pytest.raises(papermill.PapermillExecutionError) as pm_err:
        papermill.execute_notebook(str(corpus / "error.ipynb"), str(pm_out), kernel_name="python3", progress_bar=False)
    assert ours_err.value.cell_index == pm_err.value.cell_index
    assert ours_err.value.ename == pm_err.value.ename
    assert ours_err.value.evalue == pm_err.value.evalue
    ours, pm = _read(ours_out), _read(pm_out)

    def banner(c):
        # What papermill's tools rely on: the tag, the anchor before the failed cell, and the link
        # naming it on top; the words are ours (the user never used papermill).
        text = "".join(c["source"])
        return ('id="papermill-error-cell"' in text, re.findall(r'href="#papermill-error-cell">(In \[\d+\])</a>', text))

    def shape(nb):
        return [
            (
                c["cell_type"],
                tags(c),
                banner(c) if BANNER_TAG in tags(c) else c.get("id"),
                c["metadata"].get("papermill", {}).get("status") if c["cell_type"] == "code" else None,
                c["metadata"].get("papermill", {}).get("exception") if c["cell_type"] == "code" else None,
            )
            for c in nb["cells"]
        ]

    assert shape(ours) == shape(pm)
    words = "".join("".join(c["source"]) for c in ours["cells"] if BANNER_TAG in tags(c))
    assert "papermill encountered" not in words and "The run stopped here" in words


def test_allow_errors_continues(corpus, tmp_path):
    out = tmp_path / "err.out.ipynb"
    nb = nx.execute_notebook(str(corpus / "error.ipynb"), str(out), allow_errors=True)
    cells = nb["cells"]
    assert [o["output_type"] for o in cells[2]["outputs"]] == ["error"]
    assert stream_text(cells[3]) == "never printed\n"
    # the returned notebook is nbformat's in-memory form (multiline strings joined)
    assert nbformat.reads(out.read_text(encoding='utf-8'), as_version=4) == nb
    ref = run_nbclient(corpus / "error.ipynb", allow_errors=True)
    assert_same_notebook(nb, ref)


def test_system_exit_is_not_an_error(corpus, tmp_path):
    for name in ["system_exit.ipynb", "system_exit_zero.ipynb"]:
        out = tmp_path / f"ours-{name}"
        pm_out = tmp_path / f"pm-{name}"
        nb = nx.execute_notebook(str(corpus / name), str(out))  # must not raise
        papermill.execute_notebook(str(corpus / name), str(pm_out), kernel_name="python3", progress_bar=False)
        pm = _read(pm_out)
        assert stream_text(nb["cells"][0]) == "before exit\n"
        assert not any(BANNER_TAG in tags(c) for c in nb["cells"]), name
        # as papermill: execution stops at the SystemExit, without an error
        assert [c.get("execution_count") for c in nb["cells"]] == [c.get("execution_count") for c in pm["cells"]], name
        assert nbformat.reads(out.read_text(encoding='utf-8'), as_version=4) == nb


def test_system_exit_nonzero_is_an_error(corpus, tmp_path):
    with pytest.raises(nx.CellExecutionError) as info:
        nx.execute_notebook(str(corpus / "system_exit_one.ipynb"), str(tmp_path / "o.ipynb"))
    assert info.value.cell_index == 1
    assert info.value.ename == "SystemExit"


def test_input_fails_clearly(corpus, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(nx.CellExecutionError) as info:
        nx.execute_notebook(str(corpus / "input.ipynb"), str(tmp_path / "o.ipynb"))
    assert time.monotonic() - t0 < 15
    assert info.value.cell_index == 1
    assert info.value.ename == "StdinNotImplementedError"


# ------------------------------------------------------------------------------------------------
# Timeouts
# ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_cell_timeout(corpus, tmp_path):
    out = tmp_path / "sleep.out.ipynb"
    t0 = time.monotonic()
    with pytest.raises(nx.ExecutionTimeoutError) as info:
        nx.execute_notebook(str(corpus / "sleep.ipynb"), str(out), cell_timeout=2)
    elapsed = time.monotonic() - t0
    assert elapsed < 15, f"cell timeout took {elapsed:.1f}s"
    assert info.value.cell_index == 1
    assert out.exists(), "the partial output notebook must be written"
    nb = _read(out)
    _validate(nb)
    assert stream_text(without_banners(nb)[0]) == "before sleep\n"
    assert not any("after sleep" in stream_text(c) for c in nb["cells"])


@pytest.mark.timeout(60)
def test_whole_run_timeout(corpus, tmp_path):
    out = tmp_path / "sleep.out.ipynb"
    t0 = time.monotonic()
    with pytest.raises(nx.ExecutionTimeoutError) as info:
        nx.execute_notebook(str(corpus / "sleep.ipynb"), str(out), timeout=3)
    elapsed = time.monotonic() - t0
    assert elapsed < 15, f"run timeout took {elapsed:.1f}s"
    assert info.value.cell_index in (None, 1)
    nb = _read(out)
    _validate(nb)
    assert stream_text(without_banners(nb)[0]) == "before sleep\n"


def test_timeouts_not_hit(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "v4_4_no_ids.ipynb"), str(tmp_path / "o.ipynb"), timeout=60, cell_timeout=30)
    assert stream_text(nb["cells"][1]) == "four four\n"


# ------------------------------------------------------------------------------------------------
# Kernels
# ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_kernel_dies(corpus, tmp_path):
    out = tmp_path / "died.out.ipynb"
    t0 = time.monotonic()
    with pytest.raises(nx.KernelDiedError) as info:
        nx.execute_notebook(str(corpus / "kernel_suicide.ipynb"), str(out))
    elapsed = time.monotonic() - t0
    assert elapsed < 15, f"kernel death took {elapsed:.1f}s to notice"
    assert info.value.cell_index == 1
    assert not isinstance(info.value, nx.CellExecutionError)
    nb = _read(out)
    _validate(nb)
    assert stream_text(without_banners(nb)[0]) == "alive\n"


def test_unknown_kernel_in_metadata(corpus, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(nx.KernelNotFoundError) as info:
        nx.execute_notebook(str(corpus / "unknown_kernel.ipynb"), str(tmp_path / "o.ipynb"))
    assert time.monotonic() - t0 < 10
    e = info.value
    assert e.name == "no-such-kernel-xyz"
    assert isinstance(e.searched, (list, tuple)) and len(e.searched) > 0
    assert all(isinstance(p, str) for p in e.searched)
    assert "no-such-kernel-xyz" in str(e)


def test_unknown_kernel_argument(corpus, tmp_path):
    with pytest.raises(nx.KernelNotFoundError) as info:
        nx.execute_notebook(str(corpus / "streams.ipynb"), str(tmp_path / "o.ipynb"), kernel_name="nope-kernel-42")
    assert info.value.name == "nope-kernel-42"


def test_notebook_without_kernelspec_uses_language_info(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "no_kernelspec.ipynb"), str(tmp_path / "o.ipynb"))
    assert stream_text(nb["cells"][0]) == "no kernelspec 3\n"
    assert nb["cells"][1]["outputs"][0]["data"]["text/plain"] in ("42", ["42"])


# ------------------------------------------------------------------------------------------------
# Bad input files
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["malformed.ipynb", "not_a_notebook.ipynb"])
def test_bad_notebook_file(corpus, tmp_path, name):
    out = tmp_path / "o.ipynb"
    t0 = time.monotonic()
    with pytest.raises(nx.NotebookFormatError) as info:
        nx.execute_notebook(str(corpus / name), str(out))
    assert time.monotonic() - t0 < 5, "must fail before starting a kernel"
    assert name in str(info.value)
    assert not out.exists()


def test_missing_file(tmp_path):
    missing = tmp_path / "does-not-exist.ipynb"
    with pytest.raises(Exception) as info:
        nx.execute_notebook(str(missing), str(tmp_path / "o.ipynb"))
    assert isinstance(info.value, nx.NotebookExecutorError), type(info.value).__mro__
    assert "does-not-exist.ipynb" in str(info.value)


def test_nbformat3_notebook_runs(corpus, tmp_path):
    out = tmp_path / "v3.out.ipynb"
    nb = nx.execute_notebook(str(corpus / "v3.ipynb"), str(out))
    written = _read(out)
    assert written["nbformat"] == 4 and nb["nbformat"] == 4
    assert "worksheets" not in written
    _validate(written)
    types = [c["cell_type"] for c in written["cells"]]
    assert types == ["markdown", "markdown", "code", "code", "raw"]
    assert "".join(written["cells"][0]["source"]) == "# A v3 notebook"
    assert stream_text(written["cells"][2]) == "hi from v3 3\n"
    assert written["cells"][2]["execution_count"] == 1
    (res,) = written["cells"][3]["outputs"]
    assert res["output_type"] == "execute_result" and "".join(res["data"]["text/plain"]) == "6"


def test_every_kind_of_core_error_is_typed_at_both_boundaries():
    """Each kind of the core's error becomes a class of its own in Python (never the bare
    base class), with a CLI exit code, and a classified REST answer (never an unexplained 500)."""
    from notebook_executor import _core
    from notebook_executor.server.errors import classify

    samples = _core._error_samples()
    assert len({kind for kind, _ in samples}) == 15
    for kind, error in samples:
        assert isinstance(error, nx.NotebookExecutorError) and type(error) is not nx.NotebookExecutorError, kind
        assert isinstance(error.exit_code, int), kind
        answer = classify(error)
        assert answer is not None and answer["message"], kind
        assert answer["status"] != 500 or answer["code"] == "io_error", (kind, answer)
