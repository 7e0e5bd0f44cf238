"""The project's PEP 517 build backend: maturin, after making sure the JupyterLab
extension is built. maturin has no build hook, and a wheel without the prebuilt
labextension would give a server extension without its UI; so a build from source
builds the frontend first (npm), or stops with a clear message when it cannot."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import maturin

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "labextension"
OUTPUT = ROOT / "wheel-data" / "data" / "share" / "jupyter" / "labextensions" / "notebook-executor"


def ensure_labextension() -> None:
    if (OUTPUT / "package.json").is_file() and (OUTPUT / "static").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "notebook-executor: the JupyterLab extension is not built and npm is not on PATH. "
            "Install Node.js 20+ (npm), or build it first: cd labextension && npm ci && npm run build:prod")
    env = dict(os.environ)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, env=env)
    subprocess.run([npm, "run", "build:prod"], cwd=FRONTEND, check=True, env=env)
    if not (OUTPUT / "package.json").is_file():
        raise RuntimeError(f"notebook-executor: the frontend build did not write {OUTPUT}")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    ensure_labextension()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    ensure_labextension()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


build_sdist = maturin.build_sdist
get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
get_requires_for_build_editable = getattr(maturin, "get_requires_for_build_editable", maturin.get_requires_for_build_wheel)
prepare_metadata_for_build_wheel = maturin.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = getattr(maturin, "prepare_metadata_for_build_editable",
                                              maturin.prepare_metadata_for_build_wheel)
