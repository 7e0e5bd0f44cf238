"""The written notebook: valid nbformat 4, nbformat's own layout, and everything we do not execute kept
exactly as it was."""

from __future__ import annotations

import copy
import json
import os
from datetime import datetime

import nbformat
import pytest

import notebook_executor as nx
from conftest import VALID_NOTEBOOKS, _join, normalize


def _read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _run(corpus, tmp_path, name, **kw):
    out = tmp_path / "out" / name
    out.parent.mkdir(exist_ok=True)
    try:
        nb = nx.execute_notebook(str(corpus / name), str(out), **kw)
    except nx.NotebookExecutorError:
        nb = None
    return out, nb


def _joined(cell):
    c = copy.deepcopy(cell)
    if "source" in c:
        c["source"] = _join(c["source"])
    for att in c.get("attachments", {}).values():
        for k, v in list(att.items()):
            att[k] = _join(v)
    return c


def _without_papermill(md):
    md = dict(md)
    md.pop("papermill", None)
    return md


def test_unexecuted_cells_and_unknown_metadata_preserved(corpus, tmp_path):
    src = corpus / "mixed_cells.ipynb"
    original = json.loads(_read_text(src))
    out, nb = _run(corpus, tmp_path, "mixed_cells.ipynb")
    written = json.loads(_read_text(out))
    # the returned notebook is nbformat's in-memory form: multiline strings joined
    assert nb == nbformat.reads(_read_text(out), as_version=4)
    assert len(written["cells"]) == len(original["cells"])
    for i, (a, b) in enumerate(zip(original["cells"], written["cells"])):
        assert b.get("id") == a.get("id"), f"cell {i}: id changed"
        assert b["cell_type"] == a["cell_type"]
        if a["cell_type"] in ("markdown", "raw"):
            a2, b2 = _joined(a), _joined(b)
            b2["metadata"] = _without_papermill(b2["metadata"])
            assert b2 == a2, f"cell {i} ({a['cell_type']}) changed"
        else:
            assert _join(b["source"]) == _join(a["source"])
            md = _without_papermill(b["metadata"])
            md.pop("execution", None)
            assert md == a["metadata"], f"cell {i}: code cell metadata changed"
    # notebook-level metadata: every key of the input kept as is (language_info may be refreshed)
    for key, value in original["metadata"].items():
        if key != "language_info":
            assert written["metadata"].get(key) == value, f"notebook metadata {key!r} changed"
    # stale outputs and execution counts replaced
    code = written["cells"][2]
    assert code["execution_count"] == 1
    assert [o["output_type"] for o in code["outputs"]] == ["stream"]
    assert _join(code["outputs"][0]["text"]) == "x = 1\n"
    # the empty code cell is not executed
    assert written["cells"][4]["execution_count"] is None and written["cells"][4]["outputs"] == []


def test_nbformat_version_kept(corpus, tmp_path):
    out, _ = _run(corpus, tmp_path, "v4_4_no_ids.ipynb")
    written = json.loads(_read_text(out))
    assert (written["nbformat"], written["nbformat_minor"]) == (4, 4)
    assert all("id" not in c for c in written["cells"]), "nbformat 4.4 cells have no ids"
    nbformat.validate(nbformat.from_dict(written))


LAYOUT_CASES = VALID_NOTEBOOKS + ["error.ipynb", "v3.ipynb", "input.ipynb"]


@pytest.mark.parametrize("name", LAYOUT_CASES)
def test_layout_is_nbformat_json(corpus, tmp_path, name):
    out, _ = _run(corpus, tmp_path, name)
    with open(out, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # UTF-8, no BOM
    assert not text.startswith("\ufeff")
    assert "\r\n" not in text
    parsed = json.loads(text)
    assert text == json.dumps(parsed, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", LAYOUT_CASES)
def test_file_is_what_nbformat_writes(corpus, tmp_path, name):
    """Byte for byte what nbformat.write would write for the same notebook (multi-line strings
    split into lists of lines, as nbformat does), so that a notebook re-saved by Jupyter or
    papermill does not show a diff."""
    out, _ = _run(corpus, tmp_path, name)
    text = _read_text(out)
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    expected = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    if not expected.endswith("\n"):
        expected += "\n"
    assert text == expected


@pytest.mark.parametrize("name", LAYOUT_CASES)
def test_output_validates(corpus, tmp_path, name):
    out, _ = _run(corpus, tmp_path, name)
    parsed = json.loads(_read_text(out))
    assert parsed["nbformat"] == 4
    nbformat.validate(nbformat.from_dict(parsed))
    # cell ids (nbformat >= 4.5) are unique
    ids = [c.get("id") for c in parsed["cells"] if "id" in c]
    assert len(ids) == len(set(ids))


def _iso(ts):
    assert isinstance(ts, str), ts
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_papermill_metadata(corpus, tmp_path):
    src = corpus / "parameters.ipynb"
    out = tmp_path / "o.ipynb"
    nb = nx.execute_notebook(str(src), str(out), parameters={"a_int": 2})
    pm = nb["metadata"]["papermill"]
    for key in ["parameters", "input_path", "output_path", "start_time", "end_time", "duration", "exception"]:
        assert key in pm, key
    assert pm["parameters"] == {"a_int": 2}
    assert os.path.basename(pm["input_path"]) == "parameters.ipynb"
    assert os.path.basename(pm["output_path"]) == "o.ipynb"
    assert pm["exception"] in (False, None)
    start, end = _iso(pm["start_time"]), _iso(pm["end_time"])
    assert start.tzinfo is not None and end >= start
    assert isinstance(pm["duration"], (int, float)) and 0 <= pm["duration"] < 120
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        cm = cell["metadata"]["papermill"]
        for key in ["status", "start_time", "end_time", "duration", "exception"]:
            assert key in cm, (i, key)
        assert cm["status"] == "completed", i
        assert cm["exception"] is False, i
        assert start <= _iso(cm["start_time"]) <= _iso(cm["end_time"]) <= end
        assert isinstance(cm["duration"], (int, float)) and cm["duration"] >= 0


def test_no_temporary_files_left(corpus, tmp_path):
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    nx.execute_notebook(str(corpus / "streams.ipynb"), str(outdir / "o.ipynb"))
    assert sorted(os.listdir(outdir)) == ["o.ipynb"]


def test_existing_output_is_replaced(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    out.write_text("previous content that is much longer than needed " * 10000, encoding="utf-8")
    nx.execute_notebook(str(corpus / "v4_4_no_ids.ipynb"), str(out))
    nbformat.validate(nbformat.from_dict(json.loads(_read_text(out))))


def test_input_file_untouched(corpus, tmp_path):
    src = corpus / "mixed_cells.ipynb"
    before = src.read_bytes()
    nx.execute_notebook(str(src), str(tmp_path / "o.ipynb"), parameters={"x": 1})
    assert src.read_bytes() == before


def test_reading_nbformat_written_notebook_roundtrip(tmp_path):
    """A notebook written by nbformat here (random ids, multi-line sources), run and compared."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("line 1\nline 2\n\nline 4", metadata={"foo": {"bar": [1, None]}}),
            nbformat.v4.new_code_cell("a = 1\nb = 2\nprint(a + b)", metadata={"baz": True}),
            nbformat.v4.new_raw_cell("raw\n", metadata={"raw_mimetype": "text/html"}),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "something_custom": {"z": [1.5, "x"]},
        },
    )
    src = tmp_path / "in.ipynb"
    nbformat.write(nb, str(src))
    out = tmp_path / "out.ipynb"
    result = nx.execute_notebook(str(src), str(out))
    n = normalize(result, keep_ids=True)
    orig = normalize(json.loads(src.read_text(encoding="utf-8")), keep_ids=True)
    assert [c["id"] for c in n["cells"]] == [c["id"] for c in orig["cells"]]
    assert n["cells"][0] == orig["cells"][0]
    assert n["cells"][2] == orig["cells"][2]
    assert n["cells"][1]["metadata"] == {"baz": True}
    assert n["cells"][1]["outputs"] == [{"name": "stdout", "output_type": "stream", "text": "3\n"}]
    assert n["metadata"]["something_custom"] == {"z": [1.5, "x"]}
