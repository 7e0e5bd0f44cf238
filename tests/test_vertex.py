"""The Vertex AI backend against the contract double of the customJobs API (tests/vertex.py:
create bodies checked against the published discovery document, the bearer token of the
credential chain demanded, the job's command really run) and the Cloud Storage emulator."""

from __future__ import annotations

import json
import time

import pytest

import notebook_executor as nx
from conftest import VERTEX_IMAGE, VERTEX_PROJECT, run_cli
from helpers import notebook
from stores import execute_sql, serve_fires, this_minute

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"}


@pytest.fixture
def executor(tmp_path, vertex_env):
    return nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "outputs"))


def stdout_of_nb(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("name") == "stdout")


def creates(fake_vertex, execution_id: str) -> list[dict]:
    return [body for method, path, body, _ in fake_vertex.requests
            if method == "POST" and path.split("?")[0].endswith("/customJobs")
            and (body or {}).get("labels", {}).get("notebook-executor-execution") == execution_id]


def follow(executor, id, timeout=90):
    """The states the record goes through until it ends (reads bring it up to date)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e = executor.get(id)
        if not seen or seen[-1] != e.state:
            seen.append(e.state)
        if e.state in TERMINAL:
            return e, seen
        time.sleep(0.1)
    raise AssertionError(f"{id} still {seen[-1]}")


def test_a_run_on_vertex_with_every_field_mapped(executor, fake_vertex, fake_gcs, vertex_env, tmp_path):
    src = notebook(tmp_path / "train.ipynb", "print('lr', learning_rate)", "import time; time.sleep(0.5)",
                   params="learning_rate = 0.1")
    e = executor.submit(src, parameters={"learning_rate": 0.01}, display_name="train model", backend="vertex",
                        machine_type="n1-standard-8", accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1,
                        region="europe-west4", service_account="runner@nx.iam.gserviceaccount.com",
                        network="projects/123/global/networks/default", labels={"team": "ml"},
                        timeout_seconds=600, cell_timeout_seconds=120)
    # Created before submit returned; the record names the job.
    [body] = creates(fake_vertex, e.id)
    assert e.backend_job_id.startswith(f"projects/{VERTEX_PROJECT}/locations/europe-west4/customJobs/")
    assert e.state == "PREPARING"
    out = e.output_notebook_uri
    assert out.startswith(f"gs://{vertex_env}/vertex/train-")
    pool = body["jobSpec"]["workerPoolSpecs"][0]
    assert body["displayName"] == "train model"
    assert body["labels"] == {"team": "ml", "notebook-executor-execution": e.id}
    assert pool["machineSpec"] == {"machineType": "n1-standard-8", "acceleratorType": "NVIDIA_TESLA_T4",
                                   "acceleratorCount": 1}
    assert pool["replicaCount"] == "1"
    assert pool["diskSpec"] == {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100}
    container = pool["containerSpec"]
    assert container["imageUri"] == VERTEX_IMAGE
    assert container["command"] == ["notebook-executor"]
    stem = out[:-len(".ipynb")]
    assert container["args"] == ["run", f"{stem}.input.ipynb", out, "--status", f"{stem}.status.json",
                                 "--recorded-input-path", e.input_notebook, "--no-progress", "--log-output", "-k", "python3",
                                 "--parameters-json", '{"learning_rate":0.01}', "--timeout", "600",
                                 "--cell-timeout", "120"]
    assert body["jobSpec"]["serviceAccount"] == "runner@nx.iam.gserviceaccount.com"
    assert body["jobSpec"]["network"] == "projects/123/global/networks/default"
    assert body["jobSpec"]["scheduling"] == {"timeout": "660s"}
    # The record follows the job: PREPARING while Vertex provisions, RUNNING, SUCCEEDED.
    done, seen = follow(executor, e.id)
    assert done.state == "SUCCEEDED", done.state_message
    assert seen[0] == "PREPARING" and "RUNNING" in seen and seen[-1] == "SUCCEEDED", seen
    assert done.progress.cells_done == done.progress.cells_total == 4  # with the injected cell
    executed = json.loads(fake_gcs.get(out))
    assert stdout_of_nb(executed) == "lr 0.01\n"
    # papermill's metadata names the notebook submitted, not the staged copy the job read.
    assert executed["metadata"]["papermill"]["input_path"] == e.input_notebook == str(src)
    assert b"lr 0.01" in fake_gcs.get(done.output_html_uri)
    # The job ran as Vertex runs it: its command, Vertex's variables, our token.
    job = fake_vertex.jobs[e.backend_job_id]
    assert job.env["CLOUD_ML_PROJECT_ID"] == VERTEX_PROJECT
    assert all(auth == "Bearer vertex-mds-token-5150" for *_, auth in fake_vertex.requests)
    # The region filter of the listing.
    assert [x.id for x in executor.list(region="europe-west4").items] == [e.id]
    assert executor.list(region="us-central1").items == []


def test_a_failing_notebook_says_which_cell_and_why(executor, vertex_env, tmp_path):
    src = notebook(tmp_path / "bad.ipynb", "print('before')", "raise ValueError('no data for 2026-11-28')")
    e = executor.submit(src, backend="vertex")
    done, _ = follow(executor, e.id)
    assert done.state == "FAILED"
    assert "ValueError: no data for 2026-11-28" in done.state_message, done.state_message
    assert done.failure_kind == "cell_error"  # told by the run's status beside its output


def test_a_platform_failure_gives_the_platforms_message(executor, fake_vertex, vertex_env, tmp_path):
    fake_vertex.fail_next_job("The following quota metrics exceed quota limits: "
                              "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus", 8)
    e = executor.submit(notebook(tmp_path / "q.ipynb", "1"), backend="vertex", machine_type="n1-standard-4",
                        accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1)
    done, _ = follow(executor, e.id)
    assert done.state == "FAILED" and "custom_model_training_nvidia_t4_gpus" in done.state_message
    assert done.failure_kind == ""  # the platform's failure, not the run's


@pytest.mark.parametrize("when", ["PENDING", "RUNNING"])
def test_cancel(executor, fake_vertex, vertex_env, tmp_path, when):
    fake_vertex_pending = fake_vertex
    src = notebook(tmp_path / "long.ipynb", "import time; time.sleep(120)")
    if when == "PENDING":
        fake_vertex_pending.pending_seconds = 30
    try:
        e = executor.submit(src, backend="vertex")
        fake_vertex.wait(e.backend_job_id, f"JOB_STATE_{when}", timeout=60)
        if when == "RUNNING":
            deadline = time.monotonic() + 60
            while executor.get(e.id).state != "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        executor.cancel(e.id)
        done, _ = follow(executor, e.id)
    finally:
        fake_vertex_pending.pending_seconds = 0.2
    assert done.state == "CANCELLED"
    assert any(method == "POST" and path.endswith(":cancel") for method, path, *_ in fake_vertex.requests)
    assert fake_vertex.jobs[e.backend_job_id].resource["state"] == "JOB_STATE_CANCELLED"


def test_the_runs_timeout_ends_it_expired(executor, vertex_env, tmp_path):
    e = executor.submit(notebook(tmp_path / "slow.ipynb", "import time; time.sleep(60)"), backend="vertex",
                        timeout_seconds=2)
    done, _ = follow(executor, e.id)
    assert done.state == "EXPIRED", done.state_message


def test_transient_failures_are_retried(executor, fake_vertex, vertex_env, tmp_path):
    fake_vertex.faults.extend(["429", "503", "drop"])
    e = executor.submit(notebook(tmp_path / "ok.ipynb", "print('ok')"), backend="vertex")
    assert fake_vertex.faults == []
    done, _ = follow(executor, e.id)
    assert done.state == "SUCCEEDED", done.state_message
    assert len(creates(fake_vertex, e.id)) == 1


def test_refused_credentials_are_a_clear_error(executor, fake_vertex, vertex_env, tmp_path):
    fake_vertex.faults.append("403")
    e = executor.submit(notebook(tmp_path / "ok.ipynb", "1"), backend="vertex")
    assert e.state == "FAILED" or executor.get(e.id).state == "FAILED"
    assert "Vertex AI refused the request" in executor.get(e.id).state_message


@pytest.mark.parametrize("fields, field, words", [
    ({"machine_type": "n9-imaginary-4"}, "machine_type", "no machine_type"),
    ({"accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 0}, "accelerator_count", "takes 1, 2, 4, 8"),
    ({"machine_type": "e2-standard-4", "accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 1},
     "accelerator_type", "does not go with e2-standard-4"),
    ({"machine_type": "a2-highgpu-2g", "accelerator_type": "NVIDIA_TESLA_A100", "accelerator_count": 1},
     "accelerator_count", "takes 2"),
    ({"machine_type": "g2-standard-8"}, "accelerator_type", "comes with GPUs"),
    ({"region": "mars-north1"}, "region", "no region"),
    ({"labels": {"Team": "x"}}, "labels", "lowercase"),
    ({"output_location": "/tmp/local-folder"}, "output_location", "cannot write to"),
])
def test_bad_fields_never_reach_the_api(executor, fake_vertex, vertex_env, tmp_path, fields, field, words):
    before = len(fake_vertex.requests)
    with pytest.raises(nx.errors.ValidationError) as error:
        executor.submit(notebook(tmp_path / "x.ipynb", "1"), backend="vertex", **fields)
    assert error.value.field == field and words in str(error.value), str(error.value)
    assert len(fake_vertex.requests) == before
    assert executor.list().items == []


def test_no_image_configured_is_a_clear_error(executor, vertex_env, monkeypatch, tmp_path):
    monkeypatch.delenv("NOTEBOOK_EXECUTOR_VERTEX_IMAGE")
    ex = nx.Executor(executor.store_url)
    with pytest.raises(nx.errors.ValidationError) as error:
        ex.submit(notebook(tmp_path / "x.ipynb", "1"), backend="vertex")
    assert error.value.field == "environment" and "NOTEBOOK_EXECUTOR_VERTEX_IMAGE" in str(error.value)


def test_creation_survives_a_crash_before_the_record_was_updated(executor, fake_vertex, vertex_env, tmp_path):
    """The job was created but its id never reached the record: the retry finds the job by
    its label instead of creating a second one."""
    e = executor.submit(notebook(tmp_path / "slow.ipynb", "import time; time.sleep(3)"), backend="vertex")
    job = e.backend_job_id
    long_ago = "2020-01-01T00:00:00.000000Z"
    execute_sql(executor.store_url, f"UPDATE executions SET backend_job_id = '', update_time = '{long_ago}' "
                                    f"WHERE id = '{e.id}';")
    done = executor.wait(e.id, timeout=90)  # its dispatch requeues the execution, then adopts the job
    assert done.state == "SUCCEEDED" and done.backend_job_id == job
    assert len(creates(fake_vertex, e.id)) == 1


def test_the_record_follows_the_job_without_the_submitting_process(vertex_env, fake_vertex, tmp_path):
    store = f"sqlite://{tmp_path / 'store.sqlite'}"
    src = notebook(tmp_path / "nb.ipynb", "print('from the job')")
    r = run_cli("submit", src, "--store", store, "--backend", "vertex", "--machine-type", "n1-standard-4",
                "--region", "us-central1", "--output-location", f"gs://{vertex_env}/cli/")
    assert r.returncode == 0, r.stderr
    id = r.stdout.strip()
    done = nx.Executor(store).wait(id, timeout=90)
    assert done.state == "SUCCEEDED", done.state_message
    listed = nx.Executor(store).list().items
    assert [x.state for x in listed] == ["SUCCEEDED"]


def test_delete_removes_the_staged_input_and_outputs(executor, fake_gcs, vertex_env, tmp_path):
    e = executor.submit(notebook(tmp_path / "nb.ipynb", "1"), backend="vertex")
    executor.wait(e.id, timeout=90)
    names = fake_gcs.names(vertex_env, "vertex/")
    assert any(n.endswith(".input.ipynb") for n in names) and any(n.endswith(".status.json") for n in names)
    executor.delete(e.id)
    assert fake_gcs.names(vertex_env, "vertex/") == []


def test_catalogue_values_are_the_apis(executor):
    from vertex import _schema

    from notebook_executor import _core

    enum = _schema("GoogleCloudAiplatformV1MachineSpec")["properties"]["acceleratorType"]["enum"]
    config = json.loads(_core.ServerCore(executor._core).backends())
    vertex = next(b for b in config if b["name"] == "vertex")
    assert set(vertex["accelerator_types"]) <= set(enum)


def test_serve_fires_a_vertex_schedule_with_no_jupyterlab(vertex_env, tmp_path):
    """A schedule fires a Vertex job from `notebook-executor serve` alone, and serve's
    dispatcher follows the job to its end."""
    store_path = tmp_path / "store.sqlite"
    executor = nx.Executor(f"sqlite://{store_path}")
    slot = this_minute()
    s = executor.create_schedule(notebook(tmp_path / "daily.ipynb", "print('daily')"), f"{slot.minute} {slot.hour} * * *",
                                 backend="vertex", region="us-east1")
    fired = serve_fires(store_path, s.id, slot, tmp_path / "serve.log")
    assert fired["region"] == "us-east1"
