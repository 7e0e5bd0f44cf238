"""Fixtures of the server extension tests: a real Jupyter server (pytest-jupyter, loaded
for this folder only with ``-p pytest_jupyter.jupyter_server``; see the Makefile) with
the extension enabled on a private SQLite store, and real ipykernels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import notebook

API = ("notebook-executor", "api", "v1")


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "state" / "store.sqlite"


@pytest.fixture
def extension_config() -> dict:
    """Overridden by tests that need other NotebookExecutor settings."""
    return {}


@pytest.fixture
def jp_server_config(store_path, extension_config):
    return {
        "ServerApp": {"jpserver_extensions": {"notebook_executor": True}},
        "NotebookExecutor": {"store_url": f"sqlite://{store_path}", "events_interval": 0.1, **extension_config},
    }


@pytest.fixture
def root(jp_root_dir) -> Path:
    """The server's root, with a parameterized notebook and a quick one."""
    notebook(jp_root_dir / "params.ipynb", "print(f'alpha={alpha}')", params="alpha = 1")
    notebook(jp_root_dir / "quick.ipynb", "print('hello')")
    return jp_root_dir


class Api:
    """Calls the REST API; returns (status, decoded body)."""

    def __init__(self, fetch):
        self.fetch = fetch

    async def __call__(self, method: str, *path: str, body=None, params=None, headers=None, raw: bytes | None = None):
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PATCH", "PUT"):
            raw = b""
        r = await self.fetch(*API, *path, method=method, body=raw, params=params, headers=headers, raise_error=False,
                             allow_nonstandard_methods=True)
        ctype = r.headers.get("Content-Type", "")
        data = json.loads(r.body) if r.body and ctype.startswith("application/json") else r.body
        return r.code, data

    async def ok(self, method: str, *path: str, expect: int = 200, **kw):
        code, data = await self(method, *path, **kw)
        assert code == expect, (code, data)
        return data

    async def wait_done(self, id: str, timeout: float = 60.0) -> dict:
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while True:
            e = await self.ok("GET", "executions", id)
            if e["state"] in ("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"):
                return e
            assert time.monotonic() < deadline, e
            await asyncio.sleep(0.1)


@pytest.fixture
def started(jp_serverapp, jp_asyncio_loop):
    """The server as `jupyter server` runs it: pytest-jupyter does not start the loop, so
    the extensions' start hooks (our scheduler and change watcher) are run here, and their stop
    hooks at the end of the test (pytest-jupyter stops the server only after the check that no
    kernel is left: the warm pool's kernel goes when the extension stops)."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    yield jp_serverapp
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.stop_all_extensions())


@pytest.fixture
def api(jp_fetch, root, started) -> Api:
    return Api(jp_fetch)
