"""The Vertex AI backend through the server: the dialog's configuration, a run over REST with
its result in the bucket, the region filter, and a server restarted while the job runs (its
dispatcher follows the job to the end). Against the customJobs double and the Cloud Storage
emulator on loopback."""

from __future__ import annotations

import time

from helpers import notebook
from stores import query_sql
from test_restart import Server


async def test_a_vertex_run_over_rest(vertex_env, api, root, fake_gcs):
    config = await api.ok("GET", "config")
    vertex = next(b for b in config["backends"] if b["name"] == "vertex")
    assert vertex["remote"] and "n1-standard-4" in vertex["machine_types"] and "us-central1" in vertex["regions"]
    assert vertex["default_output_location"] == f"gs://{vertex_env}/vertex/" and vertex["container_images"]
    e = await api.ok("POST", "executions", body={
        "input_notebook": "params.ipynb", "parameters": {"alpha": 9}, "backend": "vertex",
        "machine_type": "n1-standard-4", "region": "europe-west1"}, expect=201)
    assert e["state"] == "PREPARING" and "/locations/europe-west1/customJobs/" in e["backend_job_id"]
    job_id = e["backend_job_id"].rsplit("/", 1)[1]
    console, logs = e["links"]
    assert console["url"] == (f"https://console.cloud.google.com/vertex-ai/locations/europe-west1/training/{job_id}"
                              f"/cpu?project=nx-vertex-project")
    assert logs["label"] == "Logs" and job_id in logs["url"]
    done = await api.wait_done(e["id"], timeout=90)
    assert done["state"] == "SUCCEEDED", done
    code, page = await api("GET", "executions", e["id"], "result")
    assert code == 200 and b"alpha=9" in page
    in_region = await api.ok("GET", "executions", params={"region": "europe-west1"})
    assert [x["id"] for x in in_region["executions"]] == [e["id"]]
    assert (await api.ok("GET", "executions", params={"region": "asia-east1"}))["executions"] == []
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb", "backend": "vertex",
                                                      "accelerator_type": "NVIDIA_L4", "accelerator_count": 1})
    assert code == 400 and err["error"]["field"] == "accelerator_type"


def _state(store_path, id) -> str:
    [(state,)] = query_sql(store_path, "SELECT state FROM executions WHERE id = ?", id)
    return state


def test_a_server_restarted_while_its_job_runs_follows_it_to_the_end(vertex_env, fake_vertex, tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    notebook(root / "slow.ipynb", "import time; time.sleep(4)", "print('done')")
    store_path = tmp_path / "store.sqlite"
    first = Server(root, home, f"sqlite://{store_path}")
    try:
        e = first.api("POST", "executions", {"input_notebook": "slow.ipynb", "backend": "vertex"})
        fake_vertex.wait(e["backend_job_id"], "JOB_STATE_RUNNING", timeout=60)
    finally:
        first.stop()
    assert _state(store_path, e["id"]) in ("PREPARING", "RUNNING")
    second = Server(root, home, f"sqlite://{store_path}")
    try:
        deadline = time.monotonic() + 60
        # Read from the store itself: the restarted server's dispatcher, not a read, moves it.
        while _state(store_path, e["id"]) != "SUCCEEDED":
            assert time.monotonic() < deadline, _state(store_path, e["id"])
            time.sleep(0.2)
        assert second.api("GET", f"executions/{e['id']}")["progress"]["cells_done"] == 2
    finally:
        second.stop()
