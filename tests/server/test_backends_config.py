"""What `GET config` says of each backend for the submit dialog and the panel: the fields of
its own it takes (the dialog shows only those), and whether it is set up on this server (the
panel's region filter is for configured remote backends)."""

from __future__ import annotations

import pytest

REMOTE_ENV = ("GOOGLE_CLOUD_PROJECT", "RAY_ADDRESS", "NOTEBOOK_EXECUTOR_VERTEX_PROJECT", "NOTEBOOK_EXECUTOR_VERTEX_REGIONS",
              "NOTEBOOK_EXECUTOR_VERTEX_REGION", "NOTEBOOK_EXECUTOR_VERTEX_IMAGE", "NOTEBOOK_EXECUTOR_VERTEX_OUTPUT_LOCATION",
              "NOTEBOOK_EXECUTOR_VERTEX_SERVICE_ACCOUNT", "NOTEBOOK_EXECUTOR_VERTEX_NETWORK",
              "NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT", "NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES")

VERTEX_FIELDS = ["machine_type", "accelerator_type", "accelerator_count", "environment", "region", "service_account",
                 "network"]


@pytest.fixture
def extension_config(request, monkeypatch):
    """No remote backend set up by the environment (read when the server starts); the
    server's settings from the test's parameter."""
    for name in REMOTE_ENV:
        monkeypatch.delenv(name, raising=False)
    return getattr(request, "param", {})


async def _backends(api) -> dict:
    return {b["name"]: b for b in (await api.ok("GET", "config"))["backends"]}


async def test_a_server_with_no_remote_backend_set_up(api):
    backends = await _backends(api)
    assert list(backends) == ["local", "vertex", "ray"]
    assert backends["local"]["configured"] and backends["local"]["fields"] == ["kernel_name"]
    assert not backends["vertex"]["configured"] and not backends["ray"]["configured"]
    assert backends["vertex"]["fields"] == VERTEX_FIELDS
    assert backends["ray"]["fields"] == ["machine_type"]
    # Vertex's catalogue is offered all the same (a user may still set it up per submission).
    assert "us-central1" in backends["vertex"]["regions"]


@pytest.mark.parametrize("extension_config", [
    {"vertex_output_location": "gs://team-results/", "ray_address": "http://127.0.0.1:9",
     "ray_machine_types": {"small": {"num_cpus": 1}}},
], indirect=True)
async def test_settings_set_the_remote_backends_up(api):
    backends = await _backends(api)
    assert backends["vertex"]["configured"] and backends["vertex"]["default_output_location"] == "gs://team-results/"
    assert backends["ray"]["configured"] and backends["ray"]["machine_types"] == ["small"]


@pytest.mark.parametrize("extension_config", [{"vertex_project": "nx-project"}], indirect=True)
async def test_a_vertex_project_alone_sets_vertex_up(api):
    backends = await _backends(api)
    assert backends["vertex"]["configured"] and not backends["ray"]["configured"]
