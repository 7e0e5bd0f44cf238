"""`nx.execute_notebook` produces what nbclient (coalesce_streams=True) produces, cell for cell."""

from __future__ import annotations

import base64
import json
import os

import nbformat
import pytest

import notebook_executor as nx
from conftest import (
    VALID_NOTEBOOKS,
    _join,
    assert_same_notebook,
    run_nbclient,
    stream_text,
)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", VALID_NOTEBOOKS)
def test_matches_nbclient(corpus, tmp_path, name):
    src = corpus / name
    out = tmp_path / "out" / name
    out.parent.mkdir()
    ours = nx.execute_notebook(str(src), str(out))
    assert isinstance(ours, dict)
    ref = run_nbclient(src)
    assert_same_notebook(ours, ref, input_nb=_read(src))
    # the file on disk holds the same notebook as the returned dict
    assert nbformat.reads(out.read_text(encoding="utf-8"), as_version=4) == ours  # nbformat joins lines in memory


def test_v3_notebook_matches_nbclient_after_upgrade(corpus, tmp_path):
    src = corpus / "v3.ipynb"
    out = tmp_path / "v3.out.ipynb"
    ours = nx.execute_notebook(str(src), str(out))
    ref = run_nbclient(src)  # nbformat.read(as_version=4) upgrades it
    assert_same_notebook(ours, ref, ignore_minor=True)


def test_execution_counts_skip_empty_cells(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "streams.ipynb"), str(tmp_path / "o.ipynb"))
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == [1, 2, 3, None, 4, 5, 6, 7]


def test_streams_coalesced_and_carriage_returns(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "streams.ipynb"), str(tmp_path / "o.ipynb"))
    cell = nb["cells"][2]
    kinds = [(o["output_type"], o.get("name")) for o in cell["outputs"]]
    assert kinds == [("stream", "stdout"), ("stream", "stderr"), ("execute_result", None)]
    assert stream_text(cell) == "out 1\nout 2\nno trailing newline"
    assert stream_text(cell, "stderr") == "err 1\nerr 2\n"
    assert stream_text(nb["cells"][3]).startswith("progress done\n")


def test_display_updates_applied(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "display_updates.ipynb"), str(tmp_path / "o.ipynb"))
    c = nb["cells"]
    assert [_join(o["data"]["text/plain"]) for o in c[1]["outputs"]] == ["'third, from a later cell'"]
    assert c[2]["outputs"] == []
    assert [_join(o["data"]["text/plain"]) for o in c[3]["outputs"]] == ["'shared updated'"] * 2
    assert stream_text(c[4]) == "kept\n" and len(c[4]["outputs"]) == 1
    assert stream_text(c[5]) == "b\n" and len(c[5]["outputs"]) == 1
    assert stream_text(c[6]) == "stays\n"
    for cell in c[1:]:
        for o in cell["outputs"]:
            assert "transient" not in o, "transient (display_id) must not be written to the notebook"


def test_png_bytes_roundtrip(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "rich_outputs.ipynb"), str(tmp_path / "o.ipynb"))
    # rebuild the same PNG in this process with the helper code of cell 1
    ns: dict = {}
    exec(_join(nb["cells"][1]["source"]).rsplit("\n", 1)[0], ns)
    (out,) = nb["cells"][2]["outputs"]
    assert out["output_type"] == "display_data"
    data = base64.b64decode(_join(out["data"]["image/png"]))
    assert data == ns["PNG"]
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_large_output_complete(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "large_output.ipynb"), str(tmp_path / "o.ipynb"))
    expected = "".join(f"{i:06d} " + "x" * 92 + "\n" for i in range(10000))
    assert len(expected) == 1_000_000
    assert stream_text(nb["cells"][0]) == expected
    assert len(nb["cells"][0]["outputs"]) == 1


def test_unicode_roundtrip(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    nb = nx.execute_notebook(str(corpus / "unicode.ipynb"), str(out))
    assert stream_text(nb["cells"][1]) == "Emoji 😀👩‍👩‍👧 CJK 漢字かなカナ 한국어 RTL שלום مرحبا 1\n"
    assert stream_text(nb["cells"][2], "stderr") == "ошибка ⚠ エラー\n"
    assert _join(nb["cells"][3]["outputs"][0]["data"]["text/plain"]) == "'ünïcödé ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢'"
    assert stream_text(nb["cells"][5]) == "control: \x1b[31mred\x1b[0m tab\there bell\x07 del\x7f\n"
    assert stream_text(nb["cells"][6]) == "separators: a\u2028b\u2029c\n"
    text = out.read_text(encoding="utf-8")
    assert "漢字かなカナ" in text, "non-ASCII must be written as UTF-8, not \\u escapes"


def test_cwd_defaults_to_notebook_folder(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "cwd.ipynb"), str(tmp_path / "o.ipynb"))
    lines = stream_text(nb["cells"][0]).splitlines()
    assert os.path.realpath(lines[0]) == os.path.realpath(corpus)
    assert lines[1] == "data next to the notebook"


def test_cwd_argument(corpus, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "data.txt").write_text("data elsewhere\n", encoding="utf-8")
    nb = nx.execute_notebook(str(corpus / "cwd.ipynb"), str(tmp_path / "o.ipynb"), cwd=str(other))
    lines = stream_text(nb["cells"][0]).splitlines()
    assert os.path.realpath(lines[0]) == os.path.realpath(other)
    assert lines[1] == "data elsewhere"


def test_output_path_none_returns_notebook(corpus):
    nb = nx.execute_notebook(str(corpus / "v4_4_no_ids.ipynb"))
    assert stream_text(nb["cells"][1]) == "four four\n"


def test_explicit_kernel_name(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "no_kernelspec.ipynb"), str(tmp_path / "o.ipynb"), kernel_name="python3")
    assert stream_text(nb["cells"][0]) == "no kernelspec 3\n"

