"""The server keeps a warm pool (by default one kernel of the default kernelspec): GET config shows
it with its memory, a submission runs on the warm kernel, and when the extension stops its warm
runners leave at once, though the process that started them (this one) lives on."""

from __future__ import annotations

import asyncio
import json
import time

import psutil

from stores import query_sql


def waiting(store_path) -> list[int]:
    return [pid for (pid,) in query_sql(store_path, "SELECT pid FROM runners WHERE warm_kernel <> '' AND pid > 0")]


async def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


def has_kernel(pid: int) -> bool:
    try:
        return any("ipykernel" in " ".join(c.cmdline()) for c in psutil.Process(pid).children())
    except psutil.Error:
        return False


async def test_the_server_keeps_a_warm_pool_and_lets_it_go_when_it_stops(api, root, store_path, started):
    pid, = await until(lambda: waiting(store_path), 30, "a warm runner")
    await until(lambda: has_kernel(pid), 60, "its kernel")

    async def pool():
        return (await api.ok("GET", "config"))["warm_pools"]["local"]

    local = await pool()
    assert local["idle_seconds"] == 1800
    kernel, = local["kernels"]
    assert (kernel["kernel"], kernel["size"], kernel["waiting"]) == ("python3", 1, 1)
    # The runner and its kernel, resident: tens of MB.
    assert 20 * 2**20 < kernel["memory_bytes"] < 1024 * 2**20

    notebook = root / "probe.ipynb"
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [],
                   "source": "import os, psutil; print(psutil.Process().create_time(), os.getcwd())"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    submitted = time.time()
    e = await api.ok("POST", "executions", body={"input_notebook": "probe.ipynb"}, expect=201)
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED", done
    out = json.loads(open(done["output_notebook_uri"]).read())
    kernel_started, cwd = "".join(out["cells"][0]["outputs"][0]["text"]).split()
    assert float(kernel_started) < submitted and cwd == str(root)

    refill, = await until(lambda: waiting(store_path), 30, "the pool to refill")
    await started.extension_manager.stop_all_extensions()
    await until(lambda: not psutil.pid_exists(refill) or psutil.Process(refill).status() == psutil.STATUS_ZOMBIE,
                15, "the warm runner to leave with the extension")
    assert waiting(store_path) == []
