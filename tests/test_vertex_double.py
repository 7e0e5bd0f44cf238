"""The Vertex AI customJobs test double (tests/vertex.py) held to the contract it stands for:
plain HTTP calls, jobs that run small Python commands."""

from __future__ import annotations

import copy
import http.client
import json
import re
import sys
import time
import urllib.parse

import pytest

from vertex import CANCELED_MESSAGE, FakeVertex

TOKEN = "vertex-test-token"
PROJECT, REGION = "nx-project", "europe-west4"
COLLECTION = f"/v1/projects/{PROJECT}/locations/{REGION}/customJobs"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def vertex():
    double = FakeVertex(token=TOKEN, job_env={"FROM_JOB_ENV": "job-env-value"}, queue_seconds=0.05,
                        pending_seconds=0.05, cancel_seconds=0.05, kill_grace_seconds=1.0)
    yield double
    double.stop()


def call(vertex, method, path, body=None, token=TOKEN, raw: bytes | None = None):
    """(HTTP status, parsed JSON answer) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", int(vertex.url.rsplit(":", 1)[1]), timeout=30)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def full_job(command: list[str], args: list[str] | None = None, timeout: str = "600s", labels=None) -> dict:
    """A CustomJob with every field the backend sends."""
    return {
        "displayName": "nx-run-report",
        "labels": labels if labels is not None else {"notebook-executor": "true", "execution": "e-1234"},
        "jobSpec": {
            "workerPoolSpecs": [{
                "machineSpec": {"machineType": "n1-standard-8", "acceleratorType": "NVIDIA_TESLA_T4",
                                "acceleratorCount": 1},
                "replicaCount": "1",
                "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
                "containerSpec": {
                    "imageUri": "europe-docker.pkg.dev/nx-project/runners/notebook-executor:1.0",
                    "command": command,
                    "args": args or [],
                    "env": [{"name": "NOTEBOOK_EXECUTOR_SPEC", "value": "gs://bucket/spec.json"}],
                },
            }],
            "serviceAccount": "runner@nx-project.iam.gserviceaccount.com",
            "network": "projects/123456789/global/networks/default",
            "scheduling": {"timeout": timeout},
        },
    }


def create(vertex, body, collection=COLLECTION) -> dict:
    status, answer = call(vertex, "POST", collection, body)
    assert status == 200, answer
    return answer


def wait_state(vertex, name: str, state: str, timeout: float = 10.0) -> dict:
    """Polls GET until the job is in `state`; returns the job as the API shows it."""
    deadline = time.monotonic() + timeout
    while True:
        status, job = call(vertex, "GET", f"/v1/{name}")
        assert status == 200, job
        if job["state"] == state:
            return job
        assert time.monotonic() < deadline, f"{name} is {job['state']}, not {state}"
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------------
# Create, lifecycle, environment
# ------------------------------------------------------------------------------------------------


def test_a_full_job_runs_its_command_to_succeeded(vertex):
    code = ("import os, sys; print('args', sys.argv[1:]); "
            "[print(k, os.environ.get(k)) for k in ('NOTEBOOK_EXECUTOR_SPEC', 'FROM_JOB_ENV', 'CLOUD_ML_PROJECT_ID', "
            "'CLOUD_ML_REGION', 'CLOUD_ML_JOB_ID', 'CLUSTER_SPEC')]")
    body = full_job(python(code), args=["--run", "e-1234"])
    created = create(vertex, body)

    job_id = created["name"].rsplit("/", 1)[1]
    assert re.fullmatch(rf"projects/{PROJECT}/locations/{REGION}/customJobs/\d+", created["name"])
    assert created["state"] == "JOB_STATE_QUEUED"
    assert RFC3339_Z.match(created["createTime"]) and RFC3339_Z.match(created["updateTime"])
    assert "startTime" not in created and "endTime" not in created and "error" not in created
    assert created["displayName"] == body["displayName"] and created["labels"] == body["labels"]
    assert created["jobSpec"] == body["jobSpec"]

    done = wait_state(vertex, created["name"], "JOB_STATE_SUCCEEDED")
    assert RFC3339_Z.match(done["startTime"]) and RFC3339_Z.match(done["endTime"])
    assert done["createTime"] <= done["startTime"] <= done["endTime"] == done["updateTime"]
    assert "error" not in done

    job = vertex.jobs[created["name"]]
    assert job.states == ["JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    assert job.body == body
    assert job.argv == body["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]["command"] + ["--run", "e-1234"]
    lines = dict(line.split(" ", 1) for line in job.log.splitlines())
    assert lines["args"] == "['--run', 'e-1234']"
    assert lines["NOTEBOOK_EXECUTOR_SPEC"] == "gs://bucket/spec.json"
    assert lines["FROM_JOB_ENV"] == "job-env-value"
    assert (lines["CLOUD_ML_PROJECT_ID"], lines["CLOUD_ML_REGION"], lines["CLOUD_ML_JOB_ID"]) == (PROJECT, REGION, job_id)
    assert json.loads(lines["CLUSTER_SPEC"])["task"] == {"worker_pool_index": 0, "replica_index": 0}
    assert vertex.requests[0][:3] == ("POST", COLLECTION, body)
    assert vertex.requests[0][3] == f"Bearer {TOKEN}"


def test_base_output_directory_sets_the_aip_directories(vertex):
    body = full_job(python("import os; print(os.environ['AIP_MODEL_DIR'], os.environ['AIP_CHECKPOINT_DIR'])"))
    body["jobSpec"]["baseOutputDirectory"] = {"outputUriPrefix": "gs://bucket/out"}
    created = create(vertex, body)
    vertex.wait(created["name"])
    assert vertex.jobs[created["name"]].log.split() == ["gs://bucket/out/model/", "gs://bucket/out/checkpoints/"]


def test_any_region_in_the_path_is_a_location_of_its_own(vertex):
    created = create(vertex, full_job(python("pass")), f"/v1/projects/{PROJECT}/locations/us-east1/customJobs")
    assert created["name"].startswith(f"projects/{PROJECT}/locations/us-east1/customJobs/")
    wait_state(vertex, created["name"], "JOB_STATE_SUCCEEDED")


def test_jobs_run_at_the_same_time(vertex, tmp_path):
    # Each job waits for the other's file: they can only both succeed if they run concurrently.
    code = ("import os, sys, time, pathlib; d = pathlib.Path(sys.argv[1]); (d / sys.argv[2]).touch(); "
            "deadline = time.time() + 5\n"
            "while not (d / sys.argv[3]).exists():\n"
            "    assert time.time() < deadline\n    time.sleep(0.02)")
    a = create(vertex, full_job(python(code), args=[str(tmp_path), "a", "b"]))
    b = create(vertex, full_job(python(code), args=[str(tmp_path), "b", "a"]))
    assert vertex.wait(a["name"]).state == vertex.wait(b["name"]).state == "JOB_STATE_SUCCEEDED"


# ------------------------------------------------------------------------------------------------
# Bad bodies
# ------------------------------------------------------------------------------------------------


def _broken(change):
    body = full_job(python("pass"))
    change(body)
    return body


def _pool(body):
    return body["jobSpec"]["workerPoolSpecs"][0]


BAD_BODIES = {
    "unknown top-level field": (lambda b: b.update(priority=1), 'Unknown name "priority" at \'custom_job\''),
    "unknown nested field": (lambda b: _pool(b)["containerSpec"].update(workingDir="/x"),
                             "Unknown name \"workingDir\" at 'custom_job.job_spec.worker_pool_specs[0].container_spec'"),
    "replicaCount as a number": (lambda b: _pool(b).update(replicaCount=1),
                                 "'custom_job.job_spec.worker_pool_specs[0].replica_count' (TYPE_INT64), 1"),
    "acceleratorCount as a string": (lambda b: _pool(b)["machineSpec"].update(acceleratorCount="1"), "(TYPE_INT32)"),
    "bad enum": (lambda b: _pool(b)["machineSpec"].update(acceleratorType="NVIDIA_TESLA_T5"), "NVIDIA_TESLA_T5"),
    "bad duration": (lambda b: b["jobSpec"]["scheduling"].update(timeout="10m"), "google.protobuf.Duration"),
    "args not a list": (lambda b: _pool(b)["containerSpec"].update(args="--run"), "container_spec.args"),
    "env value not a string": (lambda b: _pool(b)["containerSpec"]["env"][0].update(value=5), "(TYPE_STRING), 5"),
    "uppercase label key": (lambda b: b["labels"].update(Owner="x"), 'Label key "Owner"'),
    "label key starting with a digit": (lambda b: b["labels"].update({"1x": "y"}), 'Label key "1x"'),
    "label value with a space": (lambda b: b["labels"].update(k="a b"), 'Label value "a b"'),
    "label value too long": (lambda b: b["labels"].update(k="v" * 64), "longer than 63"),
    "too many labels": (lambda b: b["labels"].update({f"k{i}": "v" for i in range(64)}), "At most 64 labels"),
    "no displayName": (lambda b: b.pop("displayName"), "custom_job.display_name; Message: Required"),
    "no workerPoolSpecs": (lambda b: b["jobSpec"].update(workerPoolSpecs=[]), "worker_pool_specs; Message: Required"),
    "no machineType": (lambda b: _pool(b)["machineSpec"].pop("machineType"), "machine_spec.machine_type"),
    "no imageUri": (lambda b: _pool(b)["containerSpec"].pop("imageUri"), "container_spec.image_uri"),
    "bad bootDiskType": (lambda b: _pool(b)["diskSpec"].update(bootDiskType="ssd"), "boot_disk_type"),
    "bad network": (lambda b: b["jobSpec"].update(network="default"), "custom_job.job_spec.network"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_a_bad_body_is_invalid_argument_and_creates_nothing(vertex, case):
    change, wording = BAD_BODIES[case]
    status, answer = call(vertex, "POST", COLLECTION, _broken(change))
    assert status == 400, answer
    assert answer["error"]["status"] == "INVALID_ARGUMENT" and answer["error"]["code"] == 400
    assert wording in answer["error"]["message"]
    assert vertex.jobs == {}


def test_international_labels_are_valid(vertex):
    create(vertex, full_job(python("pass"), labels={"équipe": "données-ü", "k_1": ""}))


def test_malformed_json_is_invalid_argument(vertex):
    status, answer = call(vertex, "POST", COLLECTION, raw=b'{"displayName": ')
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
    assert answer["error"]["message"].startswith("Invalid JSON payload received.")


def test_output_only_fields_sent_on_create_are_ignored(vertex):
    body = full_job(python("pass"))
    body.update(name="projects/x/locations/y/customJobs/1", state="JOB_STATE_SUCCEEDED")
    created = create(vertex, body)
    assert created["state"] == "JOB_STATE_QUEUED" and created["name"].startswith(f"projects/{PROJECT}/")


# ------------------------------------------------------------------------------------------------
# Failures, cancel, timeout
# ------------------------------------------------------------------------------------------------


def test_a_failing_command_ends_failed_with_the_replica_message(vertex):
    created = create(vertex, full_job(python("import sys; print('boom', file=sys.stderr); sys.exit(3)")))
    done = wait_state(vertex, created["name"], "JOB_STATE_FAILED")
    job_id = created["name"].rsplit("/", 1)[1]
    assert done["error"]["code"] == 3
    assert done["error"]["message"].startswith("The replica workerpool0-0 exited with a non-zero status of 3. ")
    assert f"job_id%2F{job_id}" in done["error"]["message"]
    assert "endTime" in done and "startTime" in done
    assert vertex.jobs[created["name"]].log == "boom\n"


def test_a_command_that_does_not_exist_fails_the_job(vertex):
    created = create(vertex, full_job(["/nonexistent/notebook-executor"]))
    done = wait_state(vertex, created["name"], "JOB_STATE_FAILED")
    assert "non-zero status of 127" in done["error"]["message"]


def test_fail_next_job_fails_one_job_without_running_it(vertex, tmp_path):
    marker = tmp_path / "ran"
    message = "The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus"
    vertex.fail_next_job(message, code=8)
    refused = create(vertex, full_job(python(f"open({str(marker)!r}, 'w')")))
    done = wait_state(vertex, refused["name"], "JOB_STATE_FAILED")
    assert done["error"] == {"code": 8, "message": message}
    assert "startTime" not in done and "endTime" in done
    assert vertex.jobs[refused["name"]].process is None and not marker.exists()
    # only the next job
    wait_state(vertex, create(vertex, full_job(python("pass")))["name"], "JOB_STATE_SUCCEEDED")


def test_cancel_while_pending(vertex):
    vertex.pending_seconds = 30
    created = create(vertex, full_job(python("pass")))
    wait_state(vertex, created["name"], "JOB_STATE_PENDING")
    status, answer = call(vertex, "POST", f"/v1/{created['name']}:cancel", {})
    assert (status, answer) == (200, {})
    done = wait_state(vertex, created["name"], "JOB_STATE_CANCELLED", timeout=5)
    assert done["error"] == {"code": 1, "message": CANCELED_MESSAGE}
    assert "startTime" not in done and "endTime" in done
    job = vertex.jobs[created["name"]]
    assert job.process is None and "JOB_STATE_CANCELLING" in job.states


def test_cancel_while_running_kills_the_process(vertex):
    created = create(vertex, full_job(python("import time; print('started', flush=True); time.sleep(60)")))
    job = vertex.jobs[created["name"]]
    wait_state(vertex, created["name"], "JOB_STATE_RUNNING")
    while "started" not in job.log:
        time.sleep(0.02)
    status, answer = call(vertex, "POST", f"/v1/{created['name']}:cancel")  # an empty body is a valid request too
    assert (status, answer) == (200, {})
    assert call(vertex, "GET", f"/v1/{created['name']}")[1]["state"] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    done = wait_state(vertex, created["name"], "JOB_STATE_CANCELLED", timeout=5)
    assert done["error"] == {"code": 1, "message": CANCELED_MESSAGE}
    assert job.process.poll() is not None
    assert job.states[-3:] == ["JOB_STATE_RUNNING", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"]


def test_cancel_of_an_ended_job_is_failed_precondition(vertex):
    created = create(vertex, full_job(python("pass")))
    wait_state(vertex, created["name"], "JOB_STATE_SUCCEEDED")
    status, answer = call(vertex, "POST", f"/v1/{created['name']}:cancel", {})
    assert status == 400 and answer["error"]["status"] == "FAILED_PRECONDITION"
    assert call(vertex, "GET", f"/v1/{created['name']}")[1]["state"] == "JOB_STATE_SUCCEEDED"


def test_cancel_with_a_body_field_is_invalid_argument(vertex):
    created = create(vertex, full_job(python("pass")))
    status, answer = call(vertex, "POST", f"/v1/{created['name']}:cancel", {"force": True})
    assert status == 400 and 'Unknown name "force"' in answer["error"]["message"]


def test_a_job_past_its_timeout_is_killed_and_cancelled(vertex):
    created = create(vertex, full_job(python("import time; time.sleep(60)"), timeout="0.5s"))
    job = vertex.jobs[created["name"]]
    done = wait_state(vertex, created["name"], "JOB_STATE_CANCELLED", timeout=10)
    assert done["error"]["code"] == 1 and "0.5s" in done["error"]["message"]
    assert job.process.poll() is not None
    assert job.states[-3:] == ["JOB_STATE_RUNNING", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"]


def test_stop_kills_running_jobs():
    double = FakeVertex(token=TOKEN, queue_seconds=0, pending_seconds=0, cancel_seconds=0, kill_grace_seconds=0.5)
    try:
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('started', flush=True); time.sleep(60)"
        job = double.jobs[create(double, full_job(python(code)))["name"]]
        while "started" not in job.log:
            time.sleep(0.02)
        process = job.process
    finally:
        double.stop()
    assert process.poll() is not None  # even one that ignores SIGTERM


# ------------------------------------------------------------------------------------------------
# Get and list
# ------------------------------------------------------------------------------------------------


def test_get_of_an_unknown_job_is_not_found(vertex):
    status, answer = call(vertex, "GET", f"{COLLECTION}/123")
    assert status == 404 and answer["error"]["status"] == "NOT_FOUND" and answer["error"]["code"] == 404


def _list(vertex, **query) -> tuple[int, dict]:
    return call(vertex, "GET", f"{COLLECTION}?{urllib.parse.urlencode(query)}")


def test_list_filters_by_labels_and_state_and_pages(vertex):
    vertex.pending_seconds = 30  # the jobs stay PENDING
    ours = [create(vertex, full_job(python("pass"), labels={"nx": "true", "execution": f"e-{i}"}))["name"]
            for i in range(5)]
    other = create(vertex, full_job(python("pass"), labels={"nx": "false"}))["name"]
    create(vertex, full_job(python("pass"), labels={"nx": "true"}), f"/v1/projects/{PROJECT}/locations/us-east1/customJobs")
    create(vertex, full_job(python("pass"), labels={"nx": "true"}), f"/v1/projects/other/locations/{REGION}/customJobs")
    for name in ours + [other]:
        wait_state(vertex, name, "JOB_STATE_PENDING")

    names, token, pages = [], None, 0
    while True:
        query = {"filter": 'labels.nx="true" AND state=JOB_STATE_PENDING', "pageSize": 2}
        if token:
            query["pageToken"] = token
        status, answer = _list(vertex, **query)
        assert status == 200, answer
        pages += 1
        names += [job["name"] for job in answer["customJobs"]]
        assert len(answer["customJobs"]) <= 2
        token = answer.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and sorted(names) == sorted(ours)

    assert [j["name"] for j in _list(vertex, filter="labels.execution=e-3")[1]["customJobs"]] == [ours[3]]
    assert _list(vertex, filter='labels.nx="true" AND state="JOB_STATE_RUNNING"')[1] == {}  # empty lists are left out
    assert len(_list(vertex)[1]["customJobs"]) == 6  # only this project and region
    assert [j["name"] for j in _list(vertex, filter="labels.nx!=true")[1]["customJobs"]] == [other]


@pytest.mark.parametrize("query", [{"filter": "labels.nx=true OR state=JOB_STATE_RUNNING"},
                                   {"filter": "state=RUNNING"}, {"pageSize": -1}, {"pageToken": "garbage"},
                                   {"orderBy": "create_time"}])
def test_list_with_a_bad_query_is_invalid_argument(vertex, query):
    status, answer = _list(vertex, **query)
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT", answer


def test_a_page_token_belongs_to_its_filter(vertex):
    for _ in range(3):
        create(vertex, full_job(python("pass")))
    token = _list(vertex, pageSize=1)[1]["nextPageToken"]
    status, answer = _list(vertex, pageSize=1, pageToken=token, filter="labels.nx=true")
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"


# ------------------------------------------------------------------------------------------------
# Authentication and injected faults
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_an_accepted_token_it_is_unauthenticated(vertex, token):
    status, answer = call(vertex, "POST", COLLECTION, full_job(python("pass")), token=token)
    assert status == 401 and answer["error"]["status"] == "UNAUTHENTICATED" and answer["error"]["code"] == 401
    assert vertex.jobs == {}
    assert vertex.requests[-1][3] == ("" if token is None else f"Bearer {token}")


def test_check_auth_decides_which_credentials_pass():
    seen = []
    double = FakeVertex(check_auth=lambda authorization: seen.append(authorization) or authorization == "Bearer jwt")
    try:
        assert call(double, "GET", COLLECTION, token="jwt")[0] == 200
        assert call(double, "GET", COLLECTION, token=TOKEN)[0] == 401
    finally:
        double.stop()
    assert seen == ["Bearer jwt", f"Bearer {TOKEN}"]


@pytest.mark.parametrize("fault, status, name", [("429", 429, "RESOURCE_EXHAUSTED"), ("503", 503, "UNAVAILABLE"),
                                                 ("401", 401, "UNAUTHENTICATED"), ("403", 403, "PERMISSION_DENIED")])
def test_a_fault_answers_one_request_with_a_google_error(vertex, fault, status, name):
    vertex.faults.append(fault)
    got, answer = call(vertex, "POST", COLLECTION, full_job(python("pass")))
    assert (got, answer["error"]["status"], answer["error"]["code"]) == (status, name, status)
    assert vertex.jobs == {}
    if fault == "403":
        assert "aiplatform.customJobs.create" in answer["error"]["message"]
    assert call(vertex, "POST", COLLECTION, full_job(python("pass")))[0] == 200
    assert vertex.faults == [] and len(vertex.requests) == 2


def test_a_dropped_connection_gets_no_answer(vertex):
    vertex.faults.append("drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(vertex, "GET", COLLECTION)
    assert call(vertex, "GET", COLLECTION) == (200, {})
    assert [r[0] for r in vertex.requests] == ["GET", "GET"]


def test_faults_are_played_in_order(vertex):
    vertex.faults += ["503", "429"]
    assert [call(vertex, "GET", COLLECTION)[0] for _ in range(3)] == [503, 429, 200]


def test_unknown_routes_are_not_found(vertex):
    assert call(vertex, "GET", "/v1/projects/p/locations/r/trainingPipelines")[0] == 404


def test_the_document_it_validates_against_is_the_installed_one():
    from vertex import discovery

    document = discovery()
    assert document["name"] == "aiplatform" and document["version"] == "v1"
    assert "GoogleCloudAiplatformV1CustomJob" in document["schemas"]


def test_processes_a_job_started_end_with_it(vertex, tmp_path):
    pid_file = tmp_path / "child.pid"
    code = ("import subprocess, sys; child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))")
    created = create(vertex, full_job(python(code)))
    wait_state(vertex, created["name"], "JOB_STATE_SUCCEEDED")
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child):
        assert time.monotonic() < deadline, "the job's child process outlived the job"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_int64_as_a_number_is_accepted_when_not_strict():
    double = FakeVertex(token=TOKEN, strict_int64=False)
    try:
        body = full_job(python("pass"))
        body["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] = 1
        created = create(double, body)
        assert created["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] == "1"  # written back as Google writes it
    finally:
        double.stop()


def test_body_given_to_create_is_kept_as_sent(vertex):
    body = full_job(python("pass"))
    sent = copy.deepcopy(body)
    created = create(vertex, body)
    assert vertex.jobs[created["name"]].body == sent
