"""Property tests of the Python API's submissions: whatever the fields hold (wrong types,
extreme numbers, odd Unicode, deep nesting), the answer is a record or a typed
NotebookExecutorError, and a refused submission writes nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import notebook_executor as nx
from helpers import notebook
from test_executor import wait_for_state

FIELDS = ["display_name", "parameters", "kernel_name", "backend", "machine_type", "accelerator_type",
          "accelerator_count", "region", "output_location", "labels", "timeout_seconds", "cell_timeout_seconds",
          "allow_errors", "environment", "service_account", "network"]

odd_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from(["", "\0", "\n", "gs://", "s3://x/y", "file://x", "../../etc", "\u2028", "x" * 5000]),
)
numbers = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.just(1e308), st.just(-0.0))
leaves = st.one_of(st.none(), st.booleans(), numbers, odd_text)
values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(odd_text, inner, max_size=3)), max_leaves=8)
deep = st.integers(min_value=1, max_value=300).map(lambda n: json.loads("[" * n + "]" * n))


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    base = tmp_path_factory.mktemp("properties")
    # concurrency 1 and a blocker holding the one slot: accepted submissions stay QUEUED
    # and are cancelled before they could run.
    executor = nx.Executor(f"sqlite://{base / 'store.sqlite'}", output_dir=str(base / "out"), concurrency=1)
    blocker = executor.submit(notebook(base / "block.ipynb", "import time; time.sleep(600)"))
    wait_for_state(executor, blocker.id, {"RUNNING"})  # its kernel is there before any test
    yield executor, notebook(base / "nb.ipynb", "print(x)", params="x = 1")
    executor.cancel(blocker.id)
    executor.wait(blocker.id, timeout=60)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(fields=st.dictionaries(st.sampled_from(FIELDS), st.one_of(values, deep), max_size=4))
def test_a_submission_is_a_record_or_a_typed_error(place, fields):
    executor, src = place
    before = {e.id for e in executor.list(page_size=1000).items}
    try:
        e = executor.submit(src, **fields)
    except nx.NotebookExecutorError:
        after = {e.id for e in executor.list(page_size=1000).items}
        assert after == before  # nothing written
        return
    assert e.state in ("QUEUED", "FAILED"), e.state
    if e.state == "QUEUED":
        executor.cancel(e.id)
