"""The wheel, built from source through the project's PEP 517 backend (maturin after the
frontend), holds the prebuilt JupyterLab extension and the server config that enables the
server extension: `pip install` gives both halves or fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import sys
sys.path.insert(0, "build_backend")
import notebook_executor_build as backend
print(backend.build_wheel(sys.argv[1]))
"""


def test_the_wheel_holds_the_labextension_and_the_server_config(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    built = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                           timeout=1800, env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = tmp_path / built.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        data = "notebook_executor-0.1.0.data/data/"
        labext = data + "share/jupyter/labextensions/notebook-executor/"
        assert labext + "package.json" in names
        assert labext + "install.json" in names
        assert labext + "schemas/notebook-executor/plugin.json" in names
        assert any(n.startswith(labext + "static/remoteEntry.") for n in names)
        package = json.loads(zf.read(labext + "package.json"))
        assert package["name"] == "notebook-executor" and package["jupyterlab"]["_build"]["load"]
        install = json.loads(zf.read(labext + "install.json"))
        assert install["packageName"] == "notebook-executor"
        config = json.loads(zf.read(data + "etc/jupyter/jupyter_server_config.d/notebook_executor.json"))
        assert config["ServerApp"]["jpserver_extensions"]["notebook_executor"] is True
        assert "notebook_executor/openapi.yaml" in names
        assert "notebook_executor/server/event_schemas/change/v1.yaml" in names
        assert any(n.startswith("notebook_executor/_core") for n in names)


def test_the_backend_refuses_to_build_without_the_frontend_or_npm(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        import notebook_executor_build as backend
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(backend, "OUTPUT", tmp_path / "missing")
    monkeypatch.setattr(backend.shutil, "which", lambda name: None)
    try:
        backend.ensure_labextension()
    except RuntimeError as e:
        assert "npm" in str(e) and "labextension" in str(e)
    else:
        raise AssertionError("built a wheel without its UI")
