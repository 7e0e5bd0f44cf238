"""Cloud Storage everywhere a notebook is read or written: `run` and `execute_notebook`
with `gs://` URIs, `gs://` output locations of background executions, and the credential
chain, against a real emulator (fake-gcs-server) on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import notebook_executor as nx
from gcs import FakeMetadataServer, Proxy, jwt_claims, service_account_key
from helpers import notebook, stdout_of


def stdout_of_nb(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("name") == "stdout")


def params_notebook(path: Path) -> Path:
    return notebook(path, "print('alpha is', alpha)", params="alpha = 1")


def upload(fake_gcs, bucket, path: Path, name: str) -> str:
    return fake_gcs.put(bucket, name, path.read_bytes())


# ------------------------------------------------------------------------------------------------
# run IN OUT with URIs
# ------------------------------------------------------------------------------------------------


def test_run_gs_to_gs_with_a_parameter(cli, fake_gcs, bucket, tmp_path):
    src = upload(fake_gcs, bucket, params_notebook(tmp_path / "in.ipynb"), "in.ipynb")
    out = f"gs://{bucket}/out/run.ipynb"
    r = cli("run", src, out, "-p", "alpha", "3")
    assert r.returncode == 0, r.stderr
    nb = json.loads(fake_gcs.get(out))
    assert stdout_of_nb(nb) == "alpha is 3\n"
    assert nb["metadata"]["papermill"]["input_path"] == src
    assert nb["metadata"]["papermill"]["output_path"] == out
    assert nb["metadata"]["papermill"]["parameters"] == {"alpha": 3}


def test_run_local_to_gs_and_gs_to_local(cli, fake_gcs, bucket, tmp_path):
    local_in = params_notebook(tmp_path / "in.ipynb")
    out = f"gs://{bucket}/from-local.ipynb"
    assert cli("run", local_in, out, "-p", "alpha", "4").returncode == 0
    assert stdout_of_nb(json.loads(fake_gcs.get(out))) == "alpha is 4\n"

    local_out = tmp_path / "from-gs.ipynb"
    r = cli("run", out, local_out, "-p", "alpha", "5")
    assert r.returncode == 0, r.stderr
    assert stdout_of_nb(json.loads(local_out.read_text())) == "alpha is 5\n"


def test_execute_notebook_takes_uris(fake_gcs, bucket, tmp_path):
    src = upload(fake_gcs, bucket, params_notebook(tmp_path / "in.ipynb"), "nb/in.ipynb")
    out = f"gs://{bucket}/nb/out.ipynb"
    nb = nx.execute_notebook(src, out, parameters={"alpha": 8})
    assert stdout_of_nb(nb) == "alpha is 8\n"
    assert stdout_of_nb(json.loads(fake_gcs.get(out))) == "alpha is 8\n"


def test_default_output_of_a_gs_input_is_beside_it(cli, fake_gcs, bucket, tmp_path):
    src = upload(fake_gcs, bucket, params_notebook(tmp_path / "in.ipynb"), "dir/in.ipynb")
    r = cli("run", src)
    assert r.returncode == 0, r.stderr
    assert f"gs://{bucket}/dir/in.out.ipynb" in r.stderr
    assert fake_gcs.get(f"gs://{bucket}/dir/in.out.ipynb") is not None


def test_missing_object_and_missing_bucket_exit_5(cli, bucket):
    r = cli("run", f"gs://{bucket}/nope.ipynb", f"gs://{bucket}/out.ipynb")
    assert r.returncode == 5 and f"gs://{bucket}/nope.ipynb: no such object" in r.stderr, r.stderr
    r = cli("run", "gs://no-such-bucket-here/in.ipynb", "/dev/null")
    assert r.returncode == 5 and "bucket no-such-bucket-here does not exist" in r.stderr, r.stderr


def test_bad_uris_are_refused(cli, tmp_path):
    local_in = notebook(tmp_path / "in.ipynb", "1")
    for uri, words in [("s3://bucket/x.ipynb", "unsupported location scheme s3://"),
                       ("gs://Bad_Bucket!/x.ipynb", "is not a Cloud Storage bucket name"),
                       ("file://relative/x.ipynb", "needs an absolute path")]:
        r = cli("run", local_in, uri)
        assert r.returncode == 2 and words in r.stderr, (uri, r.stderr)
    assert not (tmp_path / "s3:").exists()


def test_file_uris_as_pathlib_writes_them(cli, executor, tmp_path):
    """`Path.as_uri()` percent-encodes a space and a non-ASCII name; run, submit and the
    output location read them as the paths they name."""
    folder = tmp_path / "my notebooks"
    folder.mkdir()
    src = notebook(folder / "été.ipynb", "print('ran')")
    out = folder / "out put.ipynb"
    r = cli("run", src.as_uri(), out.as_uri())
    assert r.returncode == 0, r.stderr
    assert stdout_of(str(out)) == "ran\n"
    e = executor.wait(executor.submit(src.as_uri(), output_location=(folder / "runs").as_uri()).id, timeout=60)
    assert e.state == "SUCCEEDED", e.state_message
    assert e.output_notebook_uri.startswith(str(folder / "runs") + "/") and stdout_of(e.output_notebook_uri) == "ran\n"


def test_a_50_mb_output_is_uploaded_whole(cli, fake_gcs, bucket, tmp_path):
    """Above 8 MiB the upload is resumable, in chunks read from a spool file."""
    src = notebook(tmp_path / "big.ipynb", "print('x' * (50 * 1024 * 1024))")
    out = f"gs://{bucket}/big.ipynb"
    r = cli("run", src, out, timeout=300)
    assert r.returncode == 0, r.stderr
    data = fake_gcs.get(out)
    assert len(data) > 50 * 1024 * 1024
    assert stdout_of_nb(json.loads(data)) == "x" * (50 * 1024 * 1024) + "\n"


# ------------------------------------------------------------------------------------------------
# Background executions with gs:// outputs
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def executor(tmp_path):
    return nx.Executor(f"sqlite://{tmp_path / 'store.sqlite'}", output_dir=str(tmp_path / "outputs"))


def test_gs_output_location_holds_the_notebook_and_its_page(executor, fake_gcs, bucket, tmp_path):
    src = params_notebook(tmp_path / "in.ipynb")
    e = executor.submit(src, parameters={"alpha": 7}, output_location=f"gs://{bucket}/results")
    assert e.output_notebook_uri.startswith(f"gs://{bucket}/results/in-")
    assert e.output_html_uri.startswith(f"gs://{bucket}/results/in-") and e.output_html_uri.endswith(".html")
    done = executor.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message
    assert stdout_of_nb(json.loads(fake_gcs.get(done.output_notebook_uri))) == "alpha is 7\n"
    assert b"alpha is 7" in fake_gcs.get(done.output_html_uri)
    # Import copies it into a local folder, never over a file.
    first = executor.import_result(e.id, tmp_path / "imported")
    second = executor.import_result(e.id, tmp_path / "imported")
    assert first != second and json.loads(Path(first).read_text()) == json.loads(Path(second).read_text())
    # Delete removes the objects.
    executor.delete(e.id)
    assert fake_gcs.names(bucket, "results/") == []


def test_gs_input_of_a_submission(executor, fake_gcs, bucket, tmp_path):
    src = upload(fake_gcs, bucket, params_notebook(tmp_path / "in.ipynb"), "in.ipynb")
    e = executor.submit(src, parameters={"alpha": 2})
    # Snapshotted at submission: a later change of the object does not change the run.
    fake_gcs.put(bucket, "in.ipynb", notebook(tmp_path / "other.ipynb", "print('changed')").read_bytes())
    done = executor.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message
    assert "alpha is 2" in Path(done.output_notebook_uri).read_text()


def test_a_gs_location_is_checked_before_anything_is_written(executor, fake_gcs, bucket, tmp_path):
    src = notebook(tmp_path / "in.ipynb", "1")
    with pytest.raises(nx.errors.ValidationError) as e:
        executor.submit(src, output_location="gs://no-such-bucket-anywhere/out/")
    assert e.value.field == "output_location" and "bucket no-such-bucket-anywhere does not exist" in str(e.value)
    assert executor.list().items == []
    staging = tmp_path / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    # The probe object is removed after a successful check.
    e = executor.submit(src, output_location=f"gs://{bucket}/ok/")
    executor.wait(e.id, timeout=60)
    assert all(".notebook-executor-probe" not in n for n in fake_gcs.names(bucket))


def test_a_schedule_with_gs_input_and_output(executor, fake_gcs, bucket, tmp_path):
    src = upload(fake_gcs, bucket, params_notebook(tmp_path / "in.ipynb"), "sched/in.ipynb")
    s = executor.create_schedule(src, "0 0 1 1 *", output_location=f"gs://{bucket}/sched/out/",
                                 parameters={"alpha": 11})
    e = executor.run_schedule_now(s.id)
    done = executor.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message
    assert stdout_of_nb(json.loads(fake_gcs.get(done.output_notebook_uri))) == "alpha is 11\n"


def test_a_killed_runner_leaves_the_last_upload_valid(tmp_path, fake_gcs, bucket, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL", "0.2")
    store = f"sqlite://{tmp_path / 'store.sqlite'}"
    executor = nx.Executor(store)
    cells = [f"print('cell {i}'); import time; time.sleep(0.3)" for i in range(6)] + ["time.sleep(60)"]
    e = executor.submit(notebook(tmp_path / "slow.ipynb", *cells), output_location=f"gs://{bucket}/k/")
    deadline = time.monotonic() + 60
    while executor.get(e.id).progress.cells_done < 6:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)  # past the upload interval: the notebook after cell 5 is uploaded
    runners = [p for p in psutil.process_iter(["cmdline"])
               if "notebook_executor._runner" in (p.info["cmdline"] or []) and store in p.info["cmdline"]]
    assert len(runners) == 1
    for child in runners[0].children(recursive=True):
        child.kill()
    runners[0].kill()
    nb = json.loads(fake_gcs.get(e.output_notebook_uri))
    assert "cell 5" in stdout_of_nb(nb)
    done = executor.wait(e.id, timeout=30)
    assert done.state == "FAILED"


def test_two_processes_writing_to_one_prefix_never_clobber(tmp_path, fake_gcs, bucket):
    store = f"sqlite://{tmp_path / 'store.sqlite'}"
    src = notebook(tmp_path / "in.ipynb", "print('alpha is', alpha)", params="alpha = ''")
    code = (
        "import notebook_executor as nx, sys; ex = nx.Executor(sys.argv[1]); "
        "ids = [ex.submit(sys.argv[2], parameters={'alpha': f'{sys.argv[3]}-{i}'}, "
        "output_location=sys.argv[4]).id for i in range(3)]; print(' '.join(ids))"
    )
    prefix = f"gs://{bucket}/shared/"
    procs = [subprocess.Popen([sys.executable, "-c", code, store, str(src), tag, prefix], stdout=subprocess.PIPE,
                              text=True) for tag in ("a", "b")]
    ids = {}
    for tag, p in zip(("a", "b"), procs):
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        ids[tag] = out.split()
    executor = nx.Executor(store)
    seen = set()
    for tag, id_list in ids.items():
        for i, id in enumerate(id_list):
            done = executor.wait(id, timeout=120)
            assert done.state == "SUCCEEDED", done.state_message
            assert done.output_notebook_uri not in seen
            seen.add(done.output_notebook_uri)
            assert stdout_of_nb(json.loads(fake_gcs.get(done.output_notebook_uri))) == f"alpha is {tag}-{i}\n"
    assert len([n for n in fake_gcs.names(bucket, "shared/") if n.endswith(".ipynb")]) == 6


# ------------------------------------------------------------------------------------------------
# Uploads: throttled for Cloud Storage, retried on transient failures
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(fake_gcs, monkeypatch):
    p = Proxy(fake_gcs)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT", p.url)
    yield p
    p.stop()


@pytest.fixture
def metadata_server(monkeypatch):
    """A metadata server with a token, so that calls through the proxy are authorized."""
    server = FakeMetadataServer("mds-token-1234", "nx-mds-project")
    monkeypatch.setenv("GCE_METADATA_HOST", server.host)
    yield server
    server.stop()


def test_uploads_of_a_running_notebook_are_throttled(cli, fake_gcs, proxy, metadata_server, tmp_path, monkeypatch):
    bucket = fake_gcs.new_bucket()
    cells = ["import time; time.sleep(0.25)"] * 8  # ~2 s of cells
    src = notebook(tmp_path / "slow.ipynb", *cells)
    r = cli("run", src, f"gs://{bucket}/slow.ipynb", env={"NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL": "1", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    uploads = proxy.uploads_of("slow.ipynb")
    # At the start, about once a second, and at the end: never once per cell (8 + 2).
    assert 2 <= uploads <= 5, uploads


def test_transient_failures_are_retried(cli, fake_gcs, proxy, metadata_server, tmp_path):
    bucket = fake_gcs.new_bucket()
    src = fake_gcs.put(bucket, "in.ipynb", params_notebook(tmp_path / "in.ipynb").read_bytes())
    proxy.faults = ["503", "429", "drop", "503"]
    r = cli("run", src, f"gs://{bucket}/out.ipynb", "-p", "alpha", "9", env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert proxy.faults == []
    assert stdout_of_nb(json.loads(fake_gcs.get(f"gs://{bucket}/out.ipynb"))) == "alpha is 9\n"


# ------------------------------------------------------------------------------------------------
# Credentials: Application Default Credentials, in order
# ------------------------------------------------------------------------------------------------


def test_a_service_account_key_signs_the_token(cli, fake_gcs, proxy, tmp_path):
    key_file = tmp_path / "key.json"
    email, public_key = service_account_key(key_file)
    seen = []

    def check(authorization):
        claims = jwt_claims(authorization, public_key)
        seen.append(claims)
        return claims is not None and claims.get("iss") == email

    proxy.check_auth = check
    bucket = fake_gcs.new_bucket()
    src = fake_gcs.put(bucket, "in.ipynb", params_notebook(tmp_path / "in.ipynb").read_bytes())
    r = cli("run", src, f"gs://{bucket}/out.ipynb", env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
                                                         "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert seen and all(c and c["iss"] == email for c in seen)
    # A key the service does not know is refused, and the error says so.
    other_key = tmp_path / "other.json"
    service_account_key(other_key)
    r = cli("run", src, f"gs://{bucket}/out2.ipynb", env={"GOOGLE_APPLICATION_CREDENTIALS": str(other_key),
                                                          "HOME": str(tmp_path)})
    assert r.returncode != 0 and "no permission for bucket" in r.stderr, r.stderr


def test_the_metadata_server_gives_the_token(cli, fake_gcs, proxy, metadata_server, tmp_path):
    proxy.check_auth = lambda authorization: authorization == "Bearer mds-token-1234"
    bucket = fake_gcs.new_bucket()
    src = fake_gcs.put(bucket, "in.ipynb", params_notebook(tmp_path / "in.ipynb").read_bytes())
    r = cli("run", src, f"gs://{bucket}/out.ipynb", env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert any(p.endswith("/token") or "/token?" in p for p in metadata_server.requests)


def test_no_credentials_is_a_clear_error_within_seconds(cli, fake_gcs, proxy, tmp_path):
    bucket = fake_gcs.new_bucket()
    src = fake_gcs.put(bucket, "in.ipynb", params_notebook(tmp_path / "in.ipynb").read_bytes())
    silent = socket.socket()  # listens, never answers: a metadata server that hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    for metadata_host in ["127.0.0.1:9", f"127.0.0.1:{silent.getsockname()[1]}"]:  # refused; silent
        start = time.monotonic()
        r = cli("run", src, f"gs://{bucket}/out.ipynb", env={"HOME": str(tmp_path), "GCE_METADATA_HOST": metadata_host})
        took = time.monotonic() - start
        assert r.returncode == 2, r.stderr
        assert "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default login`" in r.stderr
        assert took < 10, took
    silent.close()
    assert proxy.requests == []
