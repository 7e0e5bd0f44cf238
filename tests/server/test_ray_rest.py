"""The Ray backend through the server: the dialog's configuration (resource shapes from the
server's settings, with their descriptions), a run over REST with its result page, its
logs and its import. Against the session's real Ray head (`make test-ray`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "notebook-executor"

SHAPES = {"tiny": {"num_cpus": 0.25}, "medium": {"num_cpus": 1, "memory": "128MiB", "description": "one core"}}


@pytest.fixture
def extension_config(ray_env):
    # The server's settings win over the environment's (ray_env sets other shapes there).
    return {"ray_address": ray_env.address, "ray_machine_types": SHAPES, "ray_executable": str(CLI)}


async def test_a_ray_run_over_rest(api, ray_env, root):
    config = await api.ok("GET", "config")
    ray = next(b for b in config["backends"] if b["name"] == "ray")
    assert ray["remote"] and ray["machine_types"] == ["tiny", "medium"]
    assert ray["machine_type_descriptions"] == {"tiny": "0.25 CPUs", "medium": "one core"}
    assert ray["output_schemes"] == ["", "gs"] and ray["accelerator_types"] == [] and ray["regions"] == []
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 7},
                                                 "backend": "ray", "machine_type": "medium"}, expect=201)
    assert e["state"] == "PREPARING" and e["backend_job_id"] == e["id"]
    assert ray_env.reserved(e["id"]) == {"CPU": 1.0, "memory": float(128 << 20)}
    done = await api.wait_done(e["id"], timeout=90)
    assert done["state"] == "SUCCEEDED", done
    code, page = await api("GET", "executions", e["id"], "result")
    assert code == 200 and b"alpha=7" in page
    logs = await api.ok("GET", "executions", e["id"], "logs")
    assert logs["source"] == "job" and "alpha=7" in logs["text"], logs
    imported = await api.ok("POST", "executions", e["id"], "import", body={})
    assert "alpha=7" in (root / imported["path"]).read_text()
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb", "backend": "ray",
                                                      "machine_type": "small"})
    assert code == 400 and err["error"]["field"] == "machine_type" and "tiny, medium" in err["error"]["message"]
