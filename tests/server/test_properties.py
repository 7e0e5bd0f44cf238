"""Property tests of the REST bodies against a live server: whatever a body holds (wrong
types, extreme numbers, odd Unicode, deep nesting, not JSON at all), the answer is a typed
4xx (or a success), never a 500, and the server goes on answering."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_openapi import PREFIX, LiveServer

odd_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "\ud800", "\udfff x", "\0", "gs://", "s3://a/b", "../../etc/passwd", "/etc/passwd",
                     "quick.ipynb", "params.ipynb", "x" * 3000, "* * * * *", "Europe/Paris"]),
)
numbers = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.floats(allow_nan=False), st.just(1e308))
values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, odd_text),
                      lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)),
                      max_leaves=8)
FIELDS = ["input_notebook", "parameters", "display_name", "backend", "kernel_name", "machine_type", "region",
          "accelerator_count", "output_location", "labels", "timeout_seconds", "cell_timeout_seconds",
          "cron_schedule", "time_zone", "execution_template", "dest_dir", "lifetime_seconds", "missed_runs", "state"]
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=5),
    values,
    st.integers(min_value=1, max_value=2000).map(lambda n: "[" * n + "]" * n),  # raw text: deep
    st.binary(max_size=40),  # raw bytes: not JSON, not UTF-8
)
ROUTES = [("POST", "executions"), ("POST", "schedules"), ("POST", "executions/x/import"),
          ("POST", "executions/x/share"), ("PATCH", "schedules/x"), ("POST", "schedules/x/run"),
          ("POST", "storage/buckets")]


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_gcs):
    live = LiveServer(tmp_path_factory.mktemp("properties-live"), fake_gcs.url)
    yield live
    try:
        live.settle()
    finally:
        live.stop()


def send(server, method, path, raw: bytes):
    request = urllib.request.Request(f"{server.url}/{PREFIX}/{path}", method=method, data=raw,
                                     headers={"Authorization": f"token {server.token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_any_body_gets_a_typed_answer(server, route, body):
    method, path = route
    raw = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) and body.startswith("[")
                                               else json.dumps(body).encode())
    status, answer = send(server, method, path, raw)
    assert status < 500 or (status == 503 and answer["error"]["code"] in ("no_credentials", "unavailable")), \
        (method, path, raw[:200], status, answer)
    if status >= 400:
        assert answer["error"]["code"] and answer["error"]["message"]
    elif path == "executions" and isinstance(answer, dict) and answer.get("state") in ("QUEUED", "PREPARING"):
        send(server, "POST", f"executions/{answer['id']}/cancel", b"")
    assert server.get("/api/status")  # still answering
