"""The remote backends of the browser tests, on loopback only, around the test JupyterLab.

`python remote_doubles.py COMMAND...` starts, once for the whole UI test session:
- Cloud Storage: fake-gcs-server behind the tests' recording proxy (which adds buckets' IAM
  policies, for "grant read access to the bucket");
- Vertex AI: the customJobs contract double of tests/vertex.py, which runs each job's command
  as a local process against that Cloud Storage;
- explicit credentials: a service-account key (GOOGLE_APPLICATION_CREDENTIALS) that the double
  checks the tokens of and that signs URLs; no metadata server (GCE_METADATA_HOST is the discard
  port), no gcloud files (HOME is a temp dir);
- Ray: resource shapes, and an address where nothing answers (no Ray head in the UI tests:
  a submission fails with the backend's error, which the dialog shows);
then runs COMMAND with the environment that points the core at them, and stops them all when
COMMAND ends or this process is told to stop (SIGTERM, SIGINT). Nothing here reaches Google.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from gcs import FakeGcs, Proxy, jwt_claims, service_account_key  # noqa: E402
from vertex import FakeVertex  # noqa: E402

PROJECT = "nx-ui-project"
IMAGE = "us-docker.pkg.dev/nx-ui-project/notebooks/notebook-executor:ui"
REGIONS = "us-central1,europe-west1,asia-east1"
RAY_SHAPES = {
    "small": {"num_cpus": 1, "memory": "2GiB"},
    "gpu": {"num_cpus": 4, "num_gpus": 1, "memory": "16GiB", "description": "4 CPUs, 1 GPU, 16 GiB"},
}


def main(command: list[str]) -> int:
    home = tempfile.mkdtemp(prefix="nx-ui-remote-")
    key = Path(home) / "service-account.json"
    _, public_key = service_account_key(key)
    storage = FakeGcs()
    proxy = Proxy(storage)
    # Before the double starts: its jobs' processes inherit this environment.
    os.environ.update({
        "HOME": home,
        "STORAGE_EMULATOR_HOST": proxy.url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT": "http://127.0.0.1:9",
        "NOTEBOOK_EXECUTOR_VERTEX_PROJECT": PROJECT,
        "NOTEBOOK_EXECUTOR_VERTEX_REGIONS": REGIONS,
        "NOTEBOOK_EXECUTOR_VERTEX_IMAGE": IMAGE,
        "NOTEBOOK_EXECUTOR_UPLOAD_INTERVAL": "0.2",
        "RAY_ADDRESS": "http://127.0.0.1:9",
        "NOTEBOOK_EXECUTOR_RAY_MACHINE_TYPES": json.dumps(RAY_SHAPES),
    })
    for name in ("CLOUDSDK_CONFIG", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_JOB_HEADERS",
                 "NOTEBOOK_EXECUTOR_VERTEX_OUTPUT_LOCATION"):
        os.environ.pop(name, None)
    bin_dir = str(Path(sys.executable).parent)
    vertex = FakeVertex(check_auth=lambda auth: jwt_claims(auth, public_key) is not None,
                        job_env={"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")})
    os.environ["NOTEBOOK_EXECUTOR_VERTEX_ENDPOINT"] = vertex.url
    # One bucket there already (the dialog lists the project's buckets).
    storage.new_bucket()
    child = subprocess.Popen(command)

    def stop(signum, frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return child.wait()
    finally:
        vertex.stop()
        proxy.stop()
        storage.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
