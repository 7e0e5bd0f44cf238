"""Parameters: the kernel sees exactly the values papermill gives it; injection like papermill."""

from __future__ import annotations

import json
import warnings

import papermill
import pytest

import notebook_executor as nx
from conftest import printed_params, tags

DEFAULTS = {
    "a_int": 1,
    "b_float": 1.5,
    "c_str": "hello",
    "d_bool": True,
    "e_list": [1, 2, 3],
    "f_dict": {"k": "v"},
    "g_none": None,
    "optimizer": "Adam",
    "learning_rate": 0.001,
}

CASES = {
    "basic": {
        "a_int": 5,
        "b_float": 2.5,
        "c_str": "world",
        "d_bool": False,
        "e_list": [3, 4],
        "f_dict": {"x": 1},
        "g_none": None,
        "optimizer": "SGD",
        "learning_rate": 0.01,
    },
    "strings": {
        "c_str": 'He said "hi", it\'s a \\ back\\slash\nnew line\ttab\r cr \'\'\' """',
        "extra": "😀 漢字 שלום مرحبا é \u2028 \x00 nul \x1b esc",
        "extra_2": "'); import os; os._exit(3) #\"",
        "optimizer": "{braces} %s %(x)s \\N{SNOWMAN} \\u0041",
    },
    "nested": {
        "e_list": [1, [2, [3, None]], {"a": [True, False]}, "s", 1.5, []],
        "f_dict": {'k"ey': {"inner": [1, {"deep": None}]}, "ü": "v", "n": -1, "e": {}, "back\\slash": "x"},
    },
    "numbers": {
        "a_int": 2**70,
        "extra": -(2**70),
        "b_float": 2.0,
        "learning_rate": 1e-300,
        "extra_2": [1e300, 0.1, -0.0, 1e16, 123456789.123456789, 5e-324, 2**64, 2**63 - 1, -(2**63)],
    },
    "non_finite": {
        "b_float": float("nan"),
        "extra": float("inf"),
        "extra_2": float("-inf"),
    },
    "other_types_for_defaults": {
        # non-string values are never converted: the kernel gets them as given (as papermill)
        "a_int": None,
        "b_float": 5,
        "c_str": 7,
        "d_bool": 0,
    },
}


def expected_lines(params):
    values = dict(DEFAULTS)
    values.update(params)
    return (
        json.dumps(values, sort_keys=True),
        json.dumps({k: type(v).__name__ for k, v in values.items()}, sort_keys=True),
    )


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_papermill(src, out, params):
    papermill.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", progress_bar=False)
    return _read(out)


def run_ours(src, out, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown names warn; tested below
        return nx.execute_notebook(str(src), str(out), parameters=params)


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_match_papermill(corpus, tmp_path, case):
    params = CASES[case]
    src = corpus / "parameters.ipynb"
    ours = run_ours(src, tmp_path / "ours.ipynb", params)
    pm = run_papermill(src, tmp_path / "pm.ipynb", params)
    ours_json, ours_types = printed_params(ours)
    pm_json, pm_types = printed_params(pm)
    assert ours_types == pm_types
    assert ours_json == pm_json
    # and both are what the Python values dump to here
    exp_json, exp_types = expected_lines(params)
    assert ours_types == exp_types
    assert ours_json == exp_json


def test_papermill_metadata_parameters(corpus, tmp_path):
    params = CASES["basic"]
    out = tmp_path / "ours.ipynb"
    nb = run_ours(corpus / "parameters.ipynb", out, params)
    assert nb["metadata"]["papermill"]["parameters"] == params
    assert _read(out)["metadata"]["papermill"]["parameters"] == params


def test_injected_cell_placement_like_papermill(corpus, tmp_path):
    src = corpus / "parameters.ipynb"
    params = {"a_int": 2, "c_str": "x"}
    ours = run_ours(src, tmp_path / "ours.ipynb", params)
    pm = run_papermill(src, tmp_path / "pm.ipynb", params)
    cells = ours["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code", "code"]
    assert "parameters" in tags(cells[1])
    assert tags(cells[2]) == ["injected-parameters"]
    assert cells[2]["execution_count"] == 2
    src2 = "".join(cells[2]["source"])
    assert "a_int" in src2 and "c_str" in src2
    assert [(c["cell_type"], tags(c)) for c in cells] == [(c["cell_type"], tags(c)) for c in pm["cells"]]
    # the input cells keep their ids; the injected one has a fresh, different id
    ids = [c.get("id") for c in cells]
    assert ids[0:2] == ["parameters-0", "parameters-1"] and ids[3] == "parameters-2"
    assert ids[2] and ids[2] not in ("parameters-0", "parameters-1", "parameters-2")


def test_previous_injected_cell_is_replaced(corpus, tmp_path):
    src = corpus / "parameters_previous_injection.ipynb"
    params = {"c_str": "new"}
    ours = run_ours(src, tmp_path / "ours.ipynb", params)
    pm = run_papermill(src, tmp_path / "pm.ipynb", params)
    injected = [i for i, c in enumerate(ours["cells"]) if "injected-parameters" in tags(c)]
    assert injected == [2]
    values = json.loads(printed_params(ours)[0])
    assert values["c_str"] == "new"
    assert values["a_int"] == 1, "the stale injected a_int = 999 must be gone"
    assert printed_params(ours) == printed_params(pm)
    assert [(c["cell_type"], tags(c)) for c in ours["cells"]] == [(c["cell_type"], tags(c)) for c in pm["cells"]]


def test_unknown_name_warns(corpus, tmp_path):
    with pytest.warns(UserWarning, match="not_declared"):
        nb = nx.execute_notebook(
            str(corpus / "parameters.ipynb"), str(tmp_path / "o.ipynb"), parameters={"not_declared": 1, "a_int": 4}
        )
    assert json.loads(printed_params(nb)[0])["a_int"] == 4
    injected = [c for c in nb["cells"] if "injected-parameters" in tags(c)]
    assert len(injected) == 1 and "not_declared" in "".join(injected[0]["source"])


def test_known_names_do_not_warn(corpus, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nx.execute_notebook(str(corpus / "parameters.ipynb"), str(tmp_path / "o.ipynb"), parameters={"a_int": 4})
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]


def test_no_parameters_cell_warns_and_injects_first(corpus, tmp_path):
    with pytest.warns(UserWarning):
        nb = nx.execute_notebook(str(corpus / "streams.ipynb"), str(tmp_path / "o.ipynb"), parameters={"x": 1})
    first = nb["cells"][0]
    assert first["cell_type"] == "code"
    assert tags(first) == ["injected-parameters"]
    assert "x" in "".join(first["source"])
    assert first["execution_count"] == 1
    # the rest of the notebook is unchanged and still runs
    assert nb["cells"][1]["cell_type"] == "markdown"
    assert len(nb["cells"]) == 10


def test_no_parameters_no_injection(corpus, tmp_path):
    nb = nx.execute_notebook(str(corpus / "parameters.ipynb"), str(tmp_path / "o.ipynb"))
    assert not any("injected-parameters" in tags(c) for c in nb["cells"])
    assert printed_params(nb) == expected_lines({})


def test_string_converted_to_default_type(corpus, tmp_path):
    nb = run_ours(
        corpus / "parameters.ipynb",
        tmp_path / "o.ipynb",
        {"a_int": "3", "b_float": "2.5", "learning_rate": "1e-3", "c_str": "3", "optimizer": "4.5"},
    )
    values = json.loads(printed_params(nb)[0])
    types = json.loads(printed_params(nb)[1])
    assert values["a_int"] == 3 and types["a_int"] == "int"
    assert values["b_float"] == 2.5 and types["b_float"] == "float"
    assert values["learning_rate"] == 0.001 and types["learning_rate"] == "float"
    assert values["c_str"] == "3" and types["c_str"] == "str"
    assert values["optimizer"] == "4.5" and types["optimizer"] == "str"


def test_string_to_float_default_accepts_integer_text(corpus, tmp_path):
    nb = run_ours(corpus / "parameters.ipynb", tmp_path / "o.ipynb", {"b_float": "3"})
    assert json.loads(printed_params(nb)[1])["b_float"] == "float"
    assert json.loads(printed_params(nb)[0])["b_float"] == 3.0


@pytest.mark.parametrize(
    "params",
    [
        {"x; import os": 1},
        {"1x": 1},
        {"a b": 1},
        {"": 1},
    ],
    ids=["injection-name", "digit-name", "space-name", "empty-name"],
)
def test_parameter_error(corpus, tmp_path, params):
    out = tmp_path / "o.ipynb"
    with pytest.raises(nx.ParameterError) as info:
        nx.execute_notebook(str(corpus / "parameters.ipynb"), str(out), parameters=params)
    name = next(iter(params))
    if name:
        assert name in str(info.value)
    assert not out.exists(), "a bad parameter must be rejected before anything runs"
