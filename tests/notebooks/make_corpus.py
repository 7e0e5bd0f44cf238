"""Generate the test notebook corpus in this folder.

Run from anywhere: ``python tests/notebooks/make_corpus.py``. The generated files are committed, so the
tests do not depend on this script; rerun it after changing a notebook here. The output is deterministic
(fixed cell ids, nbformat's own writer), so a rerun without changes gives no diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {
    "name": "python",
    "mimetype": "text/x-python",
    "file_extension": ".py",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "version": "3.11.7",
}


def notebook(name, cells, metadata=None, kernelspec=True):
    md = {"kernelspec": dict(KERNELSPEC)} if kernelspec else {}
    md.update(metadata or {})
    nb = new_notebook(cells=cells, metadata=md)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem.replace('_', '-')}-{i}"
    nbformat.validate(nb)
    with open(HERE / name, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)


def code(src, **kw):
    return new_code_cell(src, **kw)


def md(src, **kw):
    return new_markdown_cell(src, **kw)


# --------------------------------------------------------------------------------------------------
# Valid notebooks, all deterministic, compared against nbclient (coalesce_streams=True)
# --------------------------------------------------------------------------------------------------

notebook(
    "streams.ipynb",
    [
        md("# Streams\nstdout and stderr, interleaved, with carriage returns."),
        code('print("hello stdout")'),
        code(
            "import sys\n"
            'print("out 1"); sys.stdout.flush()\n'
            'print("err 1", file=sys.stderr); sys.stderr.flush()\n'
            'print("out 2"); sys.stdout.flush()\n'
            'print("err 2", file=sys.stderr); sys.stderr.flush()\n'
            'sys.stdout.write("no trailing newline")'
        ),
        code(
            "import sys, time\n"
            "for i in range(5):\n"
            '    print(f"\\rprogress {i * 25:3d}%", end="", flush=True)\n'
            "    time.sleep(0.01)\n"
            'print("\\rprogress done")\n'
            'print("abc\\b\\bX")'
        ),
        code(""),
        code("# only a comment"),
        code("x = 41\nx + 1"),
        code("x + 1;"),
        code('print("last")'),
    ],
)

_PNG_HELPER = '''import struct, zlib

def make_png(width, height, rgb):
    """A valid truecolour PNG, built by hand (no matplotlib, no PIL)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

PNG = make_png(4, 3, (255, 0, 0))
len(PNG)'''

notebook(
    "rich_outputs.ipynb",
    [
        md("# Rich outputs"),
        code(_PNG_HELPER),
        code("from IPython.display import Image, display\ndisplay(Image(data=PNG))"),
        code("Image(data=make_png(2, 2, (0, 128, 255)), width=20, height=20)"),
        code('from IPython.display import HTML\ndisplay(HTML("<b>bold</b> <i>html</i>"))\nHTML("<table><tr><td>1</td></tr></table>")'),
        code(
            "from IPython.display import JSON, Markdown, Latex\n"
            'display(JSON({"a": [1, 2.5, None, True], "b": {"nested": "yes"}}))\n'
            'display(Markdown("**markdown** _output_"))\n'
            'display(Latex(r"$\\alpha^2 + \\beta$"))'
        ),
        code(
            "import base64\n"
            "display({\n"
            '    "text/plain": "plain fallback\\nsecond line",\n'
            '    "text/html": "<p>html</p>\\n<p>two lines</p>",\n'
            '    "application/json": {"k": [1, 2, 3]},\n'
            '    "application/vnd.custom+json": {"x": 1},\n'
            '    "image/png": base64.b64encode(PNG).decode("ascii"),\n'
            '    "image/svg+xml": "<svg xmlns=\\"http://www.w3.org/2000/svg\\" width=\\"1\\" height=\\"1\\"/>",\n'
            '}, raw=True, metadata={"image/png": {"width": 8}})'
        ),
        code(
            "class Multi:\n"
            "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
            '        return {"text/plain": "Multi()", "text/markdown": "*multi*", "text/html": "<em>multi</em>"}, {"text/html": {"isolated": True}}\n'
            "Multi()"
        ),
        code('{"a": 1, "b": [1, 2, 3]}'),
        code('print("before display")\ndisplay("a str display")\nprint("after display")'),
    ],
)

notebook(
    "display_updates.ipynb",
    [
        md("# display ids, updates and clear_output"),
        code(
            "from IPython.display import display, update_display, clear_output\n"
            'h = display("first", display_id=True)\n'
            'h.update("second")'
        ),
        code('h.update("third, from a later cell")'),
        code(
            'display("shared A", display_id="shared-id")\n'
            'display("shared B", display_id="shared-id")\n'
            'update_display("shared updated", display_id="shared-id")'
        ),
        code('print("gone")\nclear_output()\nprint("kept")'),
        code('print("a")\nclear_output(wait=True)\nprint("b")'),
        code('print("stays")\nclear_output(wait=True)'),
        code('display("x")\nclear_output(wait=True)\ndisplay("y")\nprint("z")'),
    ],
)

notebook(
    "unicode.ipynb",
    [
        md("# Ünïcödé 😀 漢字 שלום مرحبا\n\nRTL: עברית, العربية; CJK: 日本語, 한국어."),
        code(
            "# 注释 — تعليق — הערה 🚀\n"
            "café = 1\n"
            'print("Emoji 😀👩‍👩‍👧 CJK 漢字かなカナ 한국어 RTL שלום مرحبا", café)'
        ),
        code('import sys\nsys.stderr.write("ошибка ⚠ エラー\\n")'),
        code('"ünïcödé ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"'),
        code('from IPython.display import Markdown\nMarkdown("**粗体** 🚀 *مائل*")'),
        code('print("control: \\x1b[31mred\\x1b[0m tab\\there bell\\x07 del\\x7f")'),
        code('print("separators: a\\u2028b\\u2029c")'),
    ],
)

notebook(
    "large_output.ipynb",
    [
        code('for i in range(10000):\n    print(f"{i:06d} " + "x" * 92)'),
        code('"y" * 100000'),
    ],
)

notebook(
    "mixed_cells.ipynb",
    [
        md(
            "# Mixed cells\n\nwith an attachment ![a](attachment:dot.png)",
            attachments={
                "dot.png": {
                    "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
                }
            },
            metadata={"custom_md": {"keep": [1, 2, {"x": None}]}, "tags": ["intro"]},
        ),
        new_raw_cell(
            "raw *text*\n.. rst directive::",
            metadata={"format": "text/restructuredtext", "raw_mimetype": "text/restructuredtext", "custom_raw": "yes"},
        ),
        code(
            'x = 1\nprint("x =", x)',
            metadata={
                "custom_code": {"nested": [1, 2.5, "three"]},
                "tags": ["keep-me"],
                "collapsed": False,
                "scrolled": True,
                "jupyter": {"source_hidden": True, "outputs_hidden": False},
                "editable": True,
            },
            execution_count=42,
            outputs=[new_output("stream", name="stdout", text="stale output\n")],
        ),
        md("Between code cells."),
        code("", metadata={"empty": True}),
        new_raw_cell(""),
        code("x * 2"),
        md(""),
    ],
    metadata={
        "custom_top": {"list": [1, "two", None], "flag": False},
        "authors": [{"name": "Ada"}],
        "title": "Mixed",
        "toc": {"number_sections": True},
    },
)

notebook(
    "error.ipynb",
    [
        md("A notebook whose third cell raises."),
        code('print("ok before the error")'),
        code('raise ValueError("boom: bad välue")'),
        code('print("never printed")'),
    ],
)

notebook(
    "system_exit.ipynb",
    [
        code('print("before exit")'),
        code("raise SystemExit"),
        code('print("after exit")'),
    ],
)

notebook(
    "system_exit_zero.ipynb",
    [
        code('print("before exit")'),
        code("import sys\nsys.exit(0)"),
        code('print("after exit")'),
    ],
)

notebook(
    "system_exit_one.ipynb",
    [
        code('print("before exit")'),
        code("import sys\nsys.exit(1)"),
        code('print("after exit")'),
    ],
)

notebook(
    "sleep.ipynb",
    [
        code('print("before sleep")'),
        code("import time\ntime.sleep(60)"),
        code('print("after sleep")'),
    ],
)

notebook(
    "kernel_suicide.ipynb",
    [
        code('print("alive")'),
        code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        code('print("never")'),
    ],
)

notebook(
    "input.ipynb",
    [
        code('print("asking")'),
        code('name = input("name? ")'),
        code('print("never")'),
    ],
)

notebook(
    "no_kernelspec.ipynb",
    [
        code('import sys\nprint("no kernelspec", sys.version_info[0])'),
        code("6 * 7"),
    ],
    metadata={"language_info": dict(LANGUAGE_INFO)},
    kernelspec=False,
)

notebook(
    "unknown_kernel.ipynb",
    [code('print("unreachable")')],
    metadata={"kernelspec": {"name": "no-such-kernel-xyz", "display_name": "Nope", "language": "python"}},
    kernelspec=False,
)

notebook(
    "cwd.ipynb",
    [code('import os\nprint(os.getcwd())\nprint(open("data.txt").read())')],
)
(HERE / "data.txt").write_text("data next to the notebook\n", encoding="utf-8")

PARAMETER_DEFAULTS = (
    "a_int = 1\n"
    "b_float = 1.5\n"
    'c_str = "hello"\n'
    "d_bool = True\n"
    "e_list = [1, 2, 3]\n"
    'f_dict = {"k": "v"}\n'
    "g_none = None\n"
    'optimizer = "Adam"\n'
    "learning_rate = 0.001"
)

PRINT_PARAMETERS = (
    "import json\n"
    "_names = ['a_int', 'b_float', 'c_str', 'd_bool', 'e_list', 'f_dict', 'g_none', 'optimizer',\n"
    "          'learning_rate', 'extra', 'extra_2']\n"
    "_values = {n: globals()[n] for n in _names if n in globals()}\n"
    'print("PARAMS_JSON=" + json.dumps(_values, sort_keys=True))\n'
    'print("PARAMS_TYPES=" + json.dumps({n: type(v).__name__ for n, v in _values.items()}, sort_keys=True))'
)

notebook(
    "parameters.ipynb",
    [
        md("# Parameters"),
        code(PARAMETER_DEFAULTS, metadata={"tags": ["parameters"]}),
        code(PRINT_PARAMETERS),
    ],
)

notebook(
    "parameters_previous_injection.ipynb",
    [
        md("# Parameters, already run once by papermill"),
        code(PARAMETER_DEFAULTS, metadata={"tags": ["parameters"]}),
        code('# Parameters\na_int = 999\nc_str = "stale"\n', metadata={"tags": ["injected-parameters"]}),
        code(PRINT_PARAMETERS),
    ],
)

# nbformat 4.4: no cell ids
nb44 = new_notebook(
    cells=[md("nbformat 4.4, no cell ids"), code('print("four four")'), code("1 + 1")],
    metadata={"kernelspec": dict(KERNELSPEC)},
)
nb44.nbformat, nb44.nbformat_minor = 4, 4
for c in nb44.cells:
    del c["id"]
nbformat.validate(nb44)
with open(HERE / "v4_4_no_ids.ipynb", "w", encoding="utf-8") as f:
    nbformat.write(nb44, f)

# --------------------------------------------------------------------------------------------------
# Hand-written files
# --------------------------------------------------------------------------------------------------

(HERE / "malformed.ipynb").write_text(
    '{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": "print(1)",\n', encoding="utf-8"
)
(HERE / "not_a_notebook.ipynb").write_text("[1, 2, 3]\n", encoding="utf-8")

V3 = {
    "metadata": {
        "name": "",
        "signature": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "kernelspec": dict(KERNELSPEC),
    },
    "nbformat": 3,
    "nbformat_minor": 0,
    "worksheets": [
        {
            "metadata": {},
            "cells": [
                {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["A v3 notebook"]},
                {"cell_type": "markdown", "metadata": {}, "source": ["Some *markdown* in nbformat 3."]},
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": ["x = 3\n", "print('hi from v3', x)"],
                    "language": "python",
                    "metadata": {},
                    "outputs": [{"output_type": "stream", "stream": "stdout", "text": ["stale\n"]}],
                    "prompt_number": 7,
                },
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": ["x * 2"],
                    "language": "python",
                    "metadata": {},
                    "outputs": [{"output_type": "pyout", "prompt_number": 8, "metadata": {}, "text": ["6"]}],
                    "prompt_number": 8,
                },
                {"cell_type": "raw", "metadata": {}, "source": ["raw v3 text"]},
            ],
        }
    ],
}
(HERE / "v3.ipynb").write_text(json.dumps(V3, indent=1, sort_keys=True) + "\n", encoding="utf-8")

# a YAML parameters file for the CLI tests
(HERE / "params.yaml").write_text('a_int: 11\nc_str: "from yaml file"\ne_list: [4, 5]\n', encoding="utf-8")

# --------------------------------------------------------------------------------------------------
# Fidelity corpus: notebooks written for nbclient and papermill, each compared with them in
# tests/test_fidelity.py
# --------------------------------------------------------------------------------------------------

FIDELITY = HERE / "fidelity"
FIDELITY.mkdir(exist_ok=True)


def fidelity(name, cells, metadata=None, kernelspec=True):
    notebook(f"fidelity/{name}", cells, metadata=metadata, kernelspec=kernelspec)


# jupyter_client's alias: `python` is the native python3 kernel.
fidelity(
    "kernel_python.ipynb",
    [code("import sys\nprint(sys.version_info[0])"), code("6 * 7")],
    metadata={"kernelspec": {"name": "python", "display_name": "Python", "language": "python"}},
    kernelspec=False,
)

fidelity(
    "skip_execution.ipynb",
    [
        code("x = 1\nprint('runs')"),
        code(
            "x = 2\nprint('skipped by default')",
            metadata={"tags": ["skip-execution"]},
            execution_count=9,
            outputs=[new_output("stream", name="stdout", text="stale output of an earlier run\n")],
        ),
        code("x = 3\nprint('skipped when asked')", metadata={"tags": ["custom-skip"]}),
        code("print('x is', x)"),
    ],
)

fidelity(
    "history.ipynb",
    [
        code("print(get_ipython().history_manager.hist_file)"),
        code("print('a line that must not land in the history file')"),
    ],
)

STALE_WIDGETS = {
    "application/vnd.jupyter.widget-state+json": {
        "state": {
            "0000stale": {
                "model_name": "IntSliderModel",
                "model_module": "@jupyter-widgets/controls",
                "model_module_version": "2.0.0",
                "state": {"value": -1},
            }
        },
        "version_major": 2,
        "version_minor": 0,
    }
}

fidelity(
    "widgets.ipynb",
    [
        code("import ipywidgets as w\nslider = w.IntSlider(value=3, description='n')\nslider"),
        code("slider.value = 7\nbutton = w.Button(description='go')\ndisplay(button)"),
        code("w.HBox([w.Text(value='t'), w.Checkbox(value=True)])"),
        code("print(slider.value)"),
    ],
    metadata={"widgets": STALE_WIDGETS},
)

fidelity(
    "output_widget.ipynb",
    [
        code("import ipywidgets as w\nout = w.Output()\ndisplay(out)"),
        code("with out:\n    print('inside 1')\n    print('inside 2')\n    display('shown inside')\nprint('outside')"),
        code("with out:\n    raise ValueError('caught by the widget')\nprint('after the error')"),
        code("log = w.Output()\nwith log:\n    print('stale')\n    log.clear_output()\n    print('fresh')\nlog"),
        code("print(len(out.outputs), len(log.outputs))"),
    ],
)

# A kernel that dies while its cell runs, after the cell said something.
fidelity(
    "kernel_dies_mid_cell.ipynb",
    [
        code("print('alive')"),
        code("import os, signal, time\nprint('dying', flush=True)\ntime.sleep(0.3)\nos.kill(os.getpid(), signal.SIGKILL)"),
        code("print('never')"),
    ],
)

# nbformat 3 as IPython 1 and 2 wrote it: the language on each code cell, no kernelspec.
V3_USUAL = {
    "metadata": {"name": "usual v3", "signature": "sha256:" + "0" * 64},
    "nbformat": 3,
    "nbformat_minor": 0,
    "worksheets": [
        {
            "metadata": {},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["An IPython 2 notebook"]},
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": ["import sys\n", "print('v3 on python', sys.version_info[0])"],
                    "language": "python",
                    "metadata": {},
                    "outputs": [],
                    "prompt_number": 1,
                },
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": ["21 * 2"],
                    "language": "python",
                    "metadata": {},
                    "outputs": [],
                    "prompt_number": 2,
                },
            ],
        }
    ],
}
(FIDELITY / "v3_usual.ipynb").write_text(json.dumps(V3_USUAL, indent=1, sort_keys=True) + "\n", encoding="utf-8")

if __name__ == "__main__":
    print("wrote", sorted(p.name for p in HERE.iterdir() if p.suffix in {".ipynb", ".yaml", ".txt"}))
