"""`notebook-executor run`: parameters in every accepted form, exit codes, log output, no progress bar
when stderr is not a terminal. The CLI runs as a subprocess with stdout/stderr piped."""

from __future__ import annotations

import json

import nbformat
import pytest

from conftest import printed_params, run_cli, stream_text, tags, without_banners


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def _values(out):
    nb = _read(out)
    js, ty = printed_params(nb)
    return json.loads(js), json.loads(ty)


def test_run_ok_writes_valid_notebook(corpus, tmp_path):
    out = tmp_path / "streams.out.ipynb"
    proc = run_cli("run", corpus / "streams.ipynb", out)
    _ok(proc)
    nb = _read(out)
    nbformat.validate(nbformat.from_dict(nb))
    assert stream_text(nb["cells"][1]) == "hello stdout\n"
    assert nb["metadata"]["papermill"]["exception"] in (False, None)


def test_p_typed_values(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli(
        "run", corpus / "parameters.ipynb", out,
        "-p", "a_int", "5",
        "-p", "b_float", "2.5",
        "-p", "c_str", "hello world",
        "-p", "d_bool", "False",
        "-p", "g_none", "None",
        "-p", "extra", "true",
        "-p", "extra_2", "none",
        "-p", "optimizer", "false",
    )  # fmt: skip
    _ok(proc)
    values, types = _values(out)
    assert values["a_int"] == 5 and types["a_int"] == "int"
    assert values["b_float"] == 2.5 and types["b_float"] == "float"
    assert values["c_str"] == "hello world"
    assert values["d_bool"] is False and types["d_bool"] == "bool"
    assert values["g_none"] is None
    assert values["extra"] is True and types["extra"] == "bool"
    assert values["extra_2"] is None and types["extra_2"] == "NoneType"
    # the typed value False is a bool, not a string, whatever the default's type
    assert types["optimizer"] == "bool" and values["optimizer"] is False
    nb = _read(out)
    assert sum("injected-parameters" in tags(c) for c in nb["cells"]) == 1


def test_p_negative_and_big_numbers(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli(
        "run", corpus / "parameters.ipynb", out,
        "-p", "a_int", "-7",
        "-p", "b_float", "-1e-3",
        "-p", "extra", str(2**70),
    )  # fmt: skip
    _ok(proc)
    values, types = _values(out)
    assert values["a_int"] == -7 and types["a_int"] == "int"
    assert values["b_float"] == -0.001 and types["b_float"] == "float"
    assert values["extra"] == 2**70 and types["extra"] == "int"


def test_r_raw_strings(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli(
        "run", corpus / "parameters.ipynb", out,
        "-r", "c_str", "42",
        "-r", "extra", "True",
        "-r", "extra_2", 'quote " and backslash \\ and 漢字',
    )  # fmt: skip
    _ok(proc)
    values, types = _values(out)
    assert values["c_str"] == "42" and types["c_str"] == "str"
    assert values["extra"] == "True" and types["extra"] == "str"
    assert values["extra_2"] == 'quote " and backslash \\ and 漢字'


def test_y_yaml(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli(
        "run", corpus / "parameters.ipynb", out,
        "-y", "a_int: 7\nc_str: from yaml\nf_dict: {x: [1, 2]}\nd_bool: false\ng_none: null",
    )  # fmt: skip
    _ok(proc)
    values, _ = _values(out)
    assert values["a_int"] == 7
    assert values["c_str"] == "from yaml"
    assert values["f_dict"] == {"x": [1, 2]}
    assert values["d_bool"] is False
    assert values["g_none"] is None


def test_f_yaml_file(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "parameters.ipynb", out, "-f", corpus / "params.yaml")
    _ok(proc)
    values, _ = _values(out)
    assert values["a_int"] == 11
    assert values["c_str"] == "from yaml file"
    assert values["e_list"] == [4, 5]


def test_vertex_style_parameters(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "parameters.ipynb", out, "--parameters", 'optimizer="SGD",learning_rate=0.01')
    _ok(proc)
    values, types = _values(out)
    assert values["optimizer"] == "SGD" and types["optimizer"] == "str"
    assert values["learning_rate"] == 0.01 and types["learning_rate"] == "float"


def test_vertex_style_quoted_commas_and_equals(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "parameters.ipynb", out, "--parameters", 'optimizer="a,b=c",a_int=3')
    _ok(proc)
    values, types = _values(out)
    assert values["optimizer"] == "a,b=c"
    assert values["a_int"] == 3 and types["a_int"] == "int"


def test_mixed_parameter_forms(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli(
        "run", corpus / "parameters.ipynb", out,
        "-p", "a_int", "9",
        "-r", "c_str", "raw",
        "-y", "e_list: [7]",
        "--parameters", 'optimizer="RMSprop"',
    )  # fmt: skip
    _ok(proc)
    values, _ = _values(out)
    assert (values["a_int"], values["c_str"], values["e_list"], values["optimizer"]) == (9, "raw", [7], "RMSprop")


# ------------------------------------------------------------------------------------------------
# Exit codes
# ------------------------------------------------------------------------------------------------


def test_exit_1_when_a_cell_raises(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "error.ipynb", out)
    assert proc.returncode == 1, proc.stderr
    assert "ValueError" in proc.stderr
    nb = _read(out)
    assert any("papermill-error-cell-tag" in tags(c) for c in nb["cells"])


def test_allow_errors_flag_exits_0(corpus, tmp_path):
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "error.ipynb", out, "--allow-errors")
    _ok(proc)
    assert stream_text(_read(out)["cells"][3]) == "never printed\n"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{corpus}/malformed.ipynb", "{tmp}/o.ipynb"],
        ["run", "{corpus}/not_a_notebook.ipynb", "{tmp}/o.ipynb"],
        ["run", "{corpus}/parameters.ipynb", "{tmp}/o.ipynb", "-p", "x; import os", "1"],
        ["run", "{corpus}/parameters.ipynb", "{tmp}/o.ipynb", "-y", "a_int: [unclosed"],
        ["run", "{corpus}/parameters.ipynb", "{tmp}/o.ipynb", "-y", "- a list\n- not a mapping"],
        ["run", "{corpus}/parameters.ipynb", "{tmp}/o.ipynb", "-f", "{corpus}/no-such-params.yaml"],
        ["run", "{corpus}/parameters.ipynb", "{tmp}/o.ipynb", "--parameters", 'optimizer="unterminated'],
        ["run", "{corpus}/streams.ipynb", "{tmp}/o.ipynb", "--no-such-option"],
        ["run", "{corpus}/streams.ipynb", "{tmp}/o.ipynb", "--timeout", "soon"],
        ["run", "{corpus}/streams.ipynb", "{tmp}/o.ipynb", "--timeout", "0"],
        ["run"],
    ],
    ids=[
        "malformed-json",
        "not-a-notebook",
        "invalid-name",
        "bad-yaml",
        "yaml-not-mapping",
        "missing-yaml-file",
        "bad-vertex-string",
        "unknown-option",
        "bad-timeout",
        "zero-timeout",
        "no-input",
    ],
)
def test_exit_2_bad_input(corpus, tmp_path, args):
    args = [a.format(corpus=corpus, tmp=tmp_path) for a in args]
    proc = run_cli(*args, timeout=30)
    assert proc.returncode == 2, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    assert proc.stderr.strip(), "an error message is expected on stderr"
    assert "Traceback (most recent call last)" not in proc.stderr, "bad input deserves a message, not a traceback"
    assert not (tmp_path / "o.ipynb").exists()


def test_exit_5_missing_input(corpus, tmp_path):
    proc = run_cli("run", corpus / "does-not-exist.ipynb", tmp_path / "o.ipynb", timeout=30)
    assert proc.returncode == 5, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    assert "does-not-exist.ipynb: no such file" in proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr
    assert not (tmp_path / "o.ipynb").exists()


def test_exit_3_unknown_kernel(corpus, tmp_path):
    proc = run_cli("run", corpus / "unknown_kernel.ipynb", tmp_path / "o.ipynb")
    assert proc.returncode == 3, proc.stderr
    assert "no-such-kernel-xyz" in proc.stderr


def test_exit_3_unknown_kernel_option(corpus, tmp_path):
    proc = run_cli("run", corpus / "streams.ipynb", tmp_path / "o.ipynb", "-k", "nope-kernel-42")
    assert proc.returncode == 3, proc.stderr
    assert "nope-kernel-42" in proc.stderr


@pytest.mark.timeout(60)
def test_exit_3_kernel_died(corpus, tmp_path):
    proc = run_cli("run", corpus / "kernel_suicide.ipynb", tmp_path / "o.ipynb", timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert stream_text(without_banners(_read(tmp_path / "o.ipynb"))[0]) == "alive\n"


@pytest.mark.timeout(60)
def test_exit_4_cell_timeout(corpus, tmp_path):
    proc = run_cli("run", corpus / "sleep.ipynb", tmp_path / "o.ipynb", "--cell-timeout", "2", timeout=30)
    assert proc.returncode == 4, proc.stderr
    assert stream_text(without_banners(_read(tmp_path / "o.ipynb"))[0]) == "before sleep\n"


@pytest.mark.timeout(60)
def test_exit_4_run_timeout(corpus, tmp_path):
    proc = run_cli("run", corpus / "sleep.ipynb", tmp_path / "o.ipynb", "--timeout", "3", timeout=30)
    assert proc.returncode == 4, proc.stderr


# ------------------------------------------------------------------------------------------------
# Options
# ------------------------------------------------------------------------------------------------


def test_log_output_goes_to_stderr(corpus, tmp_path):
    quiet = run_cli("run", corpus / "streams.ipynb", tmp_path / "a.ipynb", "--no-progress")
    _ok(quiet)
    assert "hello stdout" not in quiet.stderr and "hello stdout" not in quiet.stdout
    loud = run_cli("run", corpus / "streams.ipynb", tmp_path / "b.ipynb", "--log-output", "--no-progress")
    _ok(loud)
    assert "hello stdout" in loud.stderr
    assert "err 1" in loud.stderr
    assert "hello stdout" not in loud.stdout


def test_no_progress_bar_when_piped(corpus, tmp_path):
    proc = run_cli("run", corpus / "v4_4_no_ids.ipynb", tmp_path / "o.ipynb")
    _ok(proc)
    assert "\r" not in proc.stderr, f"progress bar redraws in piped stderr: {proc.stderr!r}"
    assert "%|" not in proc.stderr, f"progress bar in piped stderr: {proc.stderr!r}"
    assert "\x1b[" not in proc.stderr, f"terminal escapes in piped stderr: {proc.stderr!r}"


def test_cwd_option(corpus, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "data.txt").write_text("cli data\n", encoding="utf-8")
    out = tmp_path / "o.ipynb"
    proc = run_cli("run", corpus / "cwd.ipynb", out, "--cwd", other)
    _ok(proc)
    assert stream_text(_read(out)["cells"][0]).splitlines()[1] == "cli data"


def test_relative_paths_resolved_from_invocation_dir(corpus, tmp_path):
    proc = run_cli("run", "corpus/cwd.ipynb", "rel.out.ipynb", cwd=tmp_path)
    _ok(proc)
    nb = _read(tmp_path / "rel.out.ipynb")
    # cwd of the kernel defaults to the notebook's folder, not the invocation dir
    assert stream_text(nb["cells"][0]).splitlines()[1] == "data next to the notebook"
