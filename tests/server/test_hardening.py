"""Bad REST input: a 4xx naming the field (413 for a body too large), nothing written, the
server still answers; never a 500."""

from __future__ import annotations

import json


async def test_deep_nesting_and_lone_surrogates_are_400(api):
    deep = "[" * 1000 + "]" * 1000
    code, err = await api("POST", "executions", raw=f'{{"input_notebook": "quick.ipynb", "parameters": {deep}}}'.encode())
    assert code == 400 and "nested" in err["error"]["message"]
    for body in ('{"input_notebook": "\\ud800.ipynb"}', '{"input_notebook": "quick.ipynb", "parameters": {"x": "\\udfff"}}',
                 '{"input_notebook": "quick.ipynb", "display_name": "a\\ud800b"}'):
        code, err = await api("POST", "executions", raw=body.encode())
        assert code == 400 and "Unicode" in err["error"]["message"], (body, err)
    assert (await api.ok("GET", "executions"))["executions"] == []


async def test_sizes_are_capped(api):
    code, err = await api("POST", "executions", raw=json.dumps({"input_notebook": "quick.ipynb",
                                                                "display_name": "x" * (9 * 1024 * 1024)}).encode())
    assert code == 413 and err["error"]["code"] == "too_large"
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb", "display_name": "x" * 5000})
    assert code == 400 and err["error"]["field"] == "display_name"
    code, err = await api("POST", "schedules", body={"cron_schedule": "0 9 * * *", "display_name": "y" * 5000,
                                                     "execution_template": {"input_notebook": "quick.ipynb"}})
    assert code == 400 and err["error"]["field"] == "display_name"
    assert (await api.ok("GET", "executions"))["executions"] == []


async def test_wrong_types_are_refused_not_defaulted(api, root):
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb", "backend": []})
    assert code == 400 and err["error"]["field"] == "backend"
    e = await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb"}, expect=201)
    await api.wait_done(e["id"])
    for dest in ([], 5, ""):
        code, err = await api("POST", "executions", e["id"], "import", body={"dest_dir": dest})
        assert code == 400 and err["error"]["field"] == "dest_dir", (dest, err)
    assert not (root / "imported_notebook_jobs").exists()


async def test_downloads_of_any_name_have_a_valid_header(api, root):
    from helpers import notebook

    name = 'ré"sult\nx'
    notebook(root / f"{name}.ipynb", "1")
    e = await api.ok("POST", "executions", body={"input_notebook": f"{name}.ipynb"}, expect=201)
    await api.wait_done(e["id"])
    r = await api.fetch("notebook-executor", "api", "v1", "executions", e["id"], "notebook", raise_error=False)
    assert r.code == 200
    header = r.headers["Content-Disposition"]
    assert "\n" not in header and header.startswith('attachment; filename="r__sult_x-')
    assert "filename*=UTF-8''r%C3%A9%22sult%0Ax-" in header


def _status(server, path):
    import urllib.error

    try:
        server.api("GET", path)
        return 200, None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_server_on_a_corrupt_store_answers_503_and_stops(tmp_path):
    from test_restart import Server

    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    bad = tmp_path / "store.sqlite"
    bad.write_bytes(b"not a database at all " * 200)
    server = Server(root, home, f"sqlite://{bad}")
    try:
        code, err = _status(server, "executions")
        assert code == 503 and err["error"]["code"] == "store_unavailable"
        assert "corrupt or not a database" in err["error"]["message"]
        assert server.call("GET", "/api/status")  # the rest of the server works
    finally:
        server.stop()  # SIGTERM, within 30 s
    assert bad.read_bytes().startswith(b"not a database")


def test_a_store_removed_under_a_running_server_is_503_never_recreated(tmp_path):
    from test_restart import Server

    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    store = tmp_path / "state" / "store.sqlite"
    server = Server(root, home, f"sqlite://{store}")
    try:
        assert server.api("GET", "executions")["executions"] == []
        for f in (store.parent).iterdir():
            if f.name.startswith("store.sqlite"):
                f.unlink()
        code, err = _status(server, "executions")
        assert code == 503 and "removed or replaced" in err["error"]["message"], err
        assert not store.exists()
    finally:
        server.stop()
    assert not store.exists()
