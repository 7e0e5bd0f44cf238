"""What the Rust core needs to know about this interpreter to find kernels the way
jupyter_client does (it cannot ask Python itself without starting one)."""

from __future__ import annotations

import importlib.util
import os
import sys


def python_env() -> dict:
    in_venv = sys.prefix != sys.base_prefix or "CONDA_PREFIX" in os.environ
    prefer = os.environ.get("JUPYTER_PREFER_ENV_PATH")
    if prefer is not None:
        in_venv = prefer.lower() not in ("", "0", "false", "no", "off")
    has_ipykernel = importlib.util.find_spec("ipykernel") is not None
    return {
        "prefix": sys.prefix,
        "prefer_env": in_venv,
        "native_python": sys.executable if has_ipykernel else None,
        "executable": sys.executable,
    }
