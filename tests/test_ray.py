"""The Ray backend against a real Ray head (tests/ray_head.py: `ray[default]` from the test
environment, one head per session, token authentication on), run by `make test-ray` in a
network namespace that has only a loopback interface. Jobs really run: the entrypoint is
this environment's `notebook-executor run`, on the notebook staged in a folder this
process and the head share, or in the Cloud Storage emulator.

The test that kills the head comes last: the `ray_env` fixture starts a new head if a
later test needs one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import notebook_executor as nx
from helpers import notebook
from ray_head import RAY_TOKEN, non_loopback_sockets
from stores import execute_sql, serve_fires, this_minute

# Not from conftest: this file runs in one session with tests/server (whose conftest takes that name).
CLI = Path(sys.executable).parent / "notebook-executor"


def run_cli(*args, env=None):
    return subprocess.run([str(CLI), *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=90, env={**os.environ, **(env or {})})

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"}


@pytest.fixture
def executor(tmp_path, ray_env):
    # The output folder is the "shared folder": the head runs on this machine.
    return nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "outputs"))


def follow(executor, id, timeout=90, until=TERMINAL):
    """The states the record goes through (reads bring it up to date) until one of `until`."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e = executor.get(id)
        if not seen or seen[-1] != e.state:
            seen.append(e.state)
        if e.state in until:
            return e, seen
        time.sleep(0.05)
    raise AssertionError(f"{id} still {seen[-1]} after {timeout} s: {seen}")


def stdout_of(path) -> str:
    nb = json.loads(open(path).read())
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("name") == "stdout")


def test_a_run_on_ray_from_submit_to_result(executor, ray_env, tmp_path):
    src = notebook(tmp_path / "report.ipynb", "print('day', day)", "import time; time.sleep(1.5)",
                   "print('done')", params="day = 'monday'")
    e = executor.submit(src, parameters={"day": "tuesday"}, display_name="daily report", backend="ray",
                        labels={"team": "ml"})
    # The job exists before submit returns; its submission id is the execution's id.
    assert e.backend_job_id == e.id and e.state == "PREPARING" and e.machine_type == "small"
    job = ray_env.job(e.id)
    assert job["metadata"] == {"team": "ml", "notebook-executor-execution": e.id,
                               "notebook-executor-name": "daily report"}
    out = e.output_notebook_uri
    stem = out[:-len(".ipynb")]
    assert out.startswith(str(tmp_path / "outputs" / "report-"))
    assert job["entrypoint"] == (f"{CLI} run {stem}.input.ipynb {out} --status {stem}.status.json "
                                 f"--recorded-input-path {src} --no-progress "
                                 "--log-output -k python3 --parameters-json '{\"day\":\"tuesday\"}'")
    # The record follows the job: PREPARING while Ray starts it, RUNNING with cell
    # progress, SUCCEEDED.
    running, _ = follow(executor, e.id, until={"RUNNING", *TERMINAL})
    assert running.state == "RUNNING", running.state_message
    # Every socket of the head, the job and its kernel is on loopback.
    sockets = ray_env.sockets()
    assert len(sockets) > 10 and non_loopback_sockets(sockets) == [], sockets
    done, seen = follow(executor, e.id)
    assert done.state == "SUCCEEDED", done.state_message
    assert seen[-2:] == ["RUNNING", "SUCCEEDED"], seen
    assert done.progress.cells_done == done.progress.cells_total == 5  # with the injected cell
    assert stdout_of(out) == "day tuesday\ndone\n"
    assert json.load(open(out))["metadata"]["papermill"]["input_path"] == e.input_notebook == str(src)
    assert "day tuesday" in open(done.output_html_uri).read()
    assert ray_env.job(e.id)["status"] == "SUCCEEDED"
    # The job's logs, as Ray keeps them: the entrypoint's output, the notebook's streams.
    logs = executor.logs(e.id)
    assert logs.source == "job" and "day tuesday\n" in logs.text and "done\n" in logs.text, logs.text
    r = run_cli("logs", e.id, "--store", executor.store_url)
    assert r.returncode == 0 and "day tuesday" in r.stdout, r.stderr
    # Import works as for a local run.
    imported = executor.import_result(e.id, tmp_path / "imported")
    assert stdout_of(imported) == "day tuesday\ndone\n"


def test_a_failing_notebook_says_which_cell_and_why(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "bad.ipynb", "print('before')", "raise ValueError('no data for monday')"),
                        backend="ray")
    done, _ = follow(executor, e.id)
    assert done.state == "FAILED"
    assert "ValueError: no data for monday" in done.state_message, done.state_message
    assert "ValueError" in executor.logs(e.id).text


def test_a_job_that_cannot_start_gives_rays_message(executor, tmp_path, monkeypatch):
    """The nodes have no such program: Ray's own message (the shell's) says so."""
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_RAY_EXECUTABLE", "/nowhere/notebook-executor")
    ex = nx.Executor(executor.store_url, output_dir=str(tmp_path / "outputs"))
    e = ex.submit(notebook(tmp_path / "nb.ipynb", "1"), backend="ray")
    done, _ = follow(ex, e.id)
    assert done.state == "FAILED"
    assert "exit code 127" in done.state_message and "/nowhere/notebook-executor" in done.state_message, \
        done.state_message


def test_the_runs_timeout_ends_it_expired(executor, tmp_path):
    e = executor.submit(notebook(tmp_path / "slow.ipynb", "import time; time.sleep(60)"), backend="ray",
                        timeout_seconds=2)
    done, _ = follow(executor, e.id)
    assert done.state == "EXPIRED", done.state_message


def test_cancel_while_running_stops_the_ray_job(executor, ray_env, tmp_path):
    e = executor.submit(notebook(tmp_path / "long.ipynb", "print('started', flush=True)", "import time; time.sleep(120)"),
                        backend="ray")
    deadline = time.monotonic() + 60
    while (current := executor.get(e.id)).progress.cells_done < 1:
        assert time.monotonic() < deadline and current.state in ("PREPARING", "RUNNING"), current
        time.sleep(0.1)
    assert executor.cancel(e.id).state == "CANCELLING"
    done, _ = follow(executor, e.id)
    assert done.state == "CANCELLED" and "partial output is kept" in done.state_message, done.state_message
    assert ray_env.job(e.id)["status"] == "STOPPED"
    assert stdout_of(done.output_notebook_uri) == "started\n"
    # The kernel went with the job (the no_leftover_kernels fixture checks it too).


def test_a_job_ray_cannot_place_stays_preparing_until_cancelled(executor, ray_env, tmp_path):
    """A shape asking for a GPU the cluster lacks: Ray holds the job PENDING, the record is
    PREPARING. Ray cannot stop a job it has not placed (it stays PENDING until Ray's start
    timeout): cancel ends the record and removes the staged notebook, so the job can never
    run it."""
    e = executor.submit(notebook(tmp_path / "gpu.ipynb", "1"), backend="ray", machine_type="gpu")
    assert ray_env.reserved(e.id) == {"CPU": 1.0, "GPU": 1.0}
    time.sleep(3)
    assert ray_env.job(e.id)["status"] == "PENDING"
    assert executor.get(e.id).state == "PREPARING"
    staged = Path(e.output_notebook_uri[:-len(".ipynb")] + ".input.ipynb")
    assert staged.exists()
    executor.cancel(e.id)
    done, _ = follow(executor, e.id)
    assert done.state == "CANCELLED" and done.state_message == "cancelled before the run started", done
    assert not staged.exists()


def test_a_job_stopped_from_rays_side(executor, ray_env, tmp_path):
    e = executor.submit(notebook(tmp_path / "long.ipynb", "import time; time.sleep(120)"), backend="ray")
    ray_env.wait_job(e.id, {"RUNNING"})
    assert ray_env.api("POST", f"/api/jobs/{e.id}/stop")["stopped"] is True
    done, _ = follow(executor, e.id)
    assert done.state == "CANCELLED"
    assert "stopped in Ray, not through notebook-executor" in done.state_message, done.state_message


def test_resource_shapes_reach_ray(executor, ray_env, tmp_path):
    assert [b for b in json.loads(nx._core.ServerCore(executor._core).backends()) if b["name"] == "ray"][0][
        "machine_type_descriptions"] == {"small": "0.5 CPUs, 64 MiB memory, notebook_slot: 1",
                                         "two-cpus": "the whole head", "gpu": "1 CPU, 1 GPU"}
    expected = {"small": {"CPU": 0.5, "memory": float(64 << 20), "notebook_slot": 1.0}, "two-cpus": {"CPU": 2.0}}
    for name, reserved in expected.items():
        e = executor.submit(notebook(tmp_path / f"{name}.ipynb", "1"), backend="ray", machine_type=name)
        assert ray_env.reserved(e.id) == reserved
        assert executor.wait(e.id, timeout=90).state == "SUCCEEDED"
    with pytest.raises(nx.errors.ValidationError) as error:
        executor.submit(notebook(tmp_path / "x.ipynb", "1"), backend="ray", machine_type="n1-standard-4")
    assert error.value.field == "machine_type" and "small, two-cpus, gpu" in str(error.value)


@pytest.mark.parametrize("fields, field", [
    ({"accelerator_type": "NVIDIA_TESLA_T4", "accelerator_count": 1}, "accelerator_type"),
    ({"region": "us-central1"}, "region"),
    ({"environment": "gcr.io/x/y"}, "environment"),
    ({"output_location": "s3://bucket/runs/"}, "output_location"),
])
def test_fields_ray_has_not_are_refused_by_name(executor, tmp_path, fields, field):
    with pytest.raises(nx.errors.ValidationError) as error:
        executor.submit(notebook(tmp_path / "x.ipynb", "1"), backend="ray", **fields)
    assert error.value.field == field
    assert executor.list().items == []


def test_results_in_cloud_storage_with_the_runtime_env(executor, ray_env, fake_gcs, bucket, monkeypatch, tmp_path):
    """A gs:// output location: the notebook is staged in the bucket, the job reaches the
    emulator through the variables the configured runtime_env gives it."""
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_RAY_RUNTIME_ENV",
                       json.dumps({"env_vars": {"STORAGE_EMULATOR_HOST": fake_gcs.url, "GREETING": "from env_vars"}}))
    ex = nx.Executor(executor.store_url)
    e = ex.submit(notebook(tmp_path / "gs.ipynb", "import os; print(os.environ['GREETING'])"), backend="ray",
                  output_location=f"gs://{bucket}/ray/")
    assert ray_env.job(e.id)["runtime_env"]["env_vars"]["GREETING"] == "from env_vars"
    done = ex.wait(e.id, timeout=90)
    assert done.state == "SUCCEEDED", done.state_message
    nb = json.loads(fake_gcs.get(done.output_notebook_uri))
    assert nb["cells"][0]["outputs"][0]["text"] in ("from env_vars\n", ["from env_vars\n"])
    assert {n.rsplit(".", 2)[-2] for n in fake_gcs.names(bucket, "ray/") if n.count(".") >= 2} >= {"input", "status"}
    imported = ex.import_result(e.id, tmp_path / "imported")
    assert "from env_vars" in open(imported).read()


def test_creation_survives_a_crash_before_the_record_was_updated(executor, ray_env, tmp_path):
    """The job was submitted but its id never reached the record: the retry finds the job
    by its submission id instead of submitting it again (which Ray answers with a 500)."""
    e = executor.submit(notebook(tmp_path / "slow.ipynb", "import time; time.sleep(2)"), backend="ray")
    long_ago = "2020-01-01T00:00:00.000000Z"
    execute_sql(executor.store_url, f"UPDATE executions SET backend_job_id = '', update_time = '{long_ago}' "
                                    f"WHERE id = '{e.id}';")
    done = executor.wait(e.id, timeout=90)  # its dispatch requeues the execution, then adopts the job
    assert done.state == "SUCCEEDED" and done.backend_job_id == e.id, done.state_message
    ours = [j for j in ray_env.api("GET", "/api/jobs/") if (j.get("metadata") or {}).get(
        "notebook-executor-execution") == e.id]
    assert len(ours) == 1


def test_an_unreachable_head_is_a_clear_error_at_submission(executor, monkeypatch, tmp_path):
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:9")  # the discard port: nothing listens
    ex = nx.Executor(executor.store_url)
    started = time.monotonic()
    with pytest.raises(nx.errors.UnavailableError) as error:
        ex.submit(notebook(tmp_path / "x.ipynb", "1"), backend="ray")
    assert time.monotonic() - started < 5
    assert "Ray head http://127.0.0.1:9" in str(error.value) and "RAY_ADDRESS" in str(error.value)
    assert ex.list().items == []
    r = run_cli("submit", tmp_path / "x.ipynb", "--backend", "ray", "--store", executor.store_url,
                env={"RAY_ADDRESS": "http://127.0.0.1:9"})
    assert r.returncode != 0 and "cannot be reached" in r.stderr, r.stderr
    monkeypatch.delenv("RAY_ADDRESS")
    with pytest.raises(nx.errors.UnavailableError, match="set RAY_ADDRESS"):
        nx.Executor(executor.store_url).submit(tmp_path / "x.ipynb", backend="ray")


@pytest.mark.parametrize("token, error_class, words", [
    (None, nx.errors.CredentialsError, "needs a token"),
    ("not-the-token", nx.errors.PermissionDeniedError, "refused the token"),
])
def test_the_clusters_token(executor, monkeypatch, tmp_path, token, error_class, words):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token
    if token is None:
        monkeypatch.delenv("RAY_AUTH_TOKEN")
    else:
        monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    with pytest.raises(error_class, match=words):
        nx.Executor(executor.store_url).submit(notebook(tmp_path / "x.ipynb", "1"), backend="ray")
    # Ray's own token file works as for Ray's clients.
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(RAY_TOKEN + "\n")
    ex = nx.Executor(executor.store_url)
    e = ex.submit(tmp_path / "x.ipynb", backend="ray")
    assert ex.wait(e.id, timeout=90).state == "SUCCEEDED"


def test_serve_fires_a_ray_schedule_with_no_jupyterlab(ray_env, tmp_path):
    """A schedule fires a Ray job from `notebook-executor serve` alone, and serve's
    dispatcher follows the job to its end."""
    store_path = tmp_path / "store.sqlite"
    executor = nx.Executor(f"sqlite://{store_path}", output_dir=str(tmp_path / "outputs"))
    slot = this_minute()
    s = executor.create_schedule(notebook(tmp_path / "daily.ipynb", "print('daily')"), f"{slot.minute} {slot.hour} * * *",
                                 backend="ray", machine_type="two-cpus", output_location=str(tmp_path / "outputs"))
    fired = serve_fires(store_path, s.id, slot, tmp_path / "serve.log")
    assert ray_env.job(fired["id"])["metadata"]["notebook-executor-schedule"] == s.id


# Last: it kills the session's head (a later test would get a new one from `ray_env`).
def test_a_head_that_dies_mid_run_ends_the_execution_failed(executor, ray_env, tmp_path):
    e = executor.submit(notebook(tmp_path / "long.ipynb", "print('started', flush=True)", "import time; time.sleep(120)"),
                        backend="ray")
    deadline = time.monotonic() + 60
    while executor.get(e.id).progress.cells_done < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ray_env.kill()
    # Refused, or reset while the dying head still held the connection.
    with pytest.raises(OSError):
        ray_env.api("GET", "/api/version", timeout=2)
    # Reads show the record as last seen while the head may come back...
    assert executor.get(e.id).state == "RUNNING"
    # ...and after NOTEBOOK_EXECUTOR_RAY_UNREACHABLE_TIMEOUT (4 s here; 60 s by default) it ends.
    started = time.monotonic()
    done = executor.wait(e.id, timeout=60)
    assert done.state == "FAILED" and time.monotonic() - started < 30
    assert "Ray could not be reached for" in done.state_message and "run's end is unknown" in done.state_message, \
        done.state_message
    assert stdout_of(done.output_notebook_uri) == "started\n"
