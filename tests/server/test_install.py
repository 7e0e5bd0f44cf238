"""Installing the package enables the server extension and the labextension with no
`enable` step (the environment was installed by `make develop`, as from the wheel)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def _run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    out = subprocess.run([JUPYTER, *args], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)


def test_server_extension_list_shows_it_enabled_and_ok():
    text = _run("server", "extension", "list")
    assert re.search(r"notebook_executor\s+enabled", text), text
    assert re.search(r"notebook_executor 0\.1\.0\s+OK", text), text


def test_labextension_list_shows_it_enabled_and_ok():
    text = _run("labextension", "list")
    assert re.search(r"notebook-executor v0\.1\.0\s+enabled\s+OK", text), text
