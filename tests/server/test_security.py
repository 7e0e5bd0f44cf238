"""Auth on every route, XSRF for cookie-authenticated requests, paths kept inside the
root, and the extension's handlers all declaring their auth."""

from __future__ import annotations

import json
import os
import warnings

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_server.auth.decorator import allow_unauthenticated  # noqa: F401  (the public route uses it)
from notebook_executor.server.handlers import routes

API = "notebook-executor/api/v1"

# One concrete request per (route, method) of the API.
ROUTES = [
    ("GET", "executions"), ("POST", "executions"), ("GET", "executions/x"), ("DELETE", "executions/x"),
    ("POST", "executions/x/cancel"), ("GET", "executions/x/logs"), ("GET", "executions/x/result"), ("GET", "executions/x/notebook"),
    ("POST", "executions/x/import"), ("POST", "executions/x/share"), ("GET", "executions/x/shares"),
    ("DELETE", "executions/x/shares/y"), ("GET", "schedules"), ("POST", "schedules"), ("GET", "schedules/x"),
    ("PATCH", "schedules/x"), ("DELETE", "schedules/x"), ("POST", "schedules/x/run"),
    ("GET", "schedules/preview?cron_schedule=*+*+*+*+*"), ("GET", "notebooks/parameters?path=params.ipynb"),
    ("GET", "environments"), ("GET", "config"), ("GET", "storage/buckets"), ("POST", "storage/buckets"),
]


def test_every_route_is_listed_here():
    patterns = {p for p, _ in routes() if p.startswith(API)}
    import re

    for pattern in patterns:
        assert any(re.fullmatch(pattern, f"{API}/{path.split('?')[0]}") for _, path in ROUTES), pattern


async def test_every_route_refuses_requests_without_a_token(api, http_server_client, jp_base_url):
    for method, path in ROUTES:
        body = b"{}" if method in ("POST", "PATCH") else None
        url = f"{jp_base_url}{API}/{path}"
        try:
            r = await http_server_client.fetch(url, method=method, body=body, follow_redirects=False,
                                               allow_nonstandard_methods=True)
            code = r.code
        except HTTPClientError as e:
            code = e.code
        # API routes answer 403; the pages a browser tab opens redirect to the login page.
        assert code in (401, 403, 302), (method, path, code)


async def test_a_wrong_token_is_refused(api, http_server_client, jp_base_url):
    with pytest.raises(HTTPClientError) as e:
        await http_server_client.fetch(f"{jp_base_url}{API}/executions", headers={"Authorization": "token wrong"})
    assert e.value.code == 403


async def test_cookie_requests_need_the_xsrf_token(api, jp_serverapp, http_server_client, jp_base_url):
    # Log in as a browser does: the token once, then the session cookie.
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(f"{jp_base_url}?token={token}", follow_redirects=False, raise_error=False)
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert cookies
    got = await http_server_client.fetch(f"{jp_base_url}{API}/executions", headers={"Cookie": cookies})
    assert got.code == 200  # reads need no XSRF token
    body = json.dumps({"input_notebook": "quick.ipynb"})
    refused = await http_server_client.fetch(f"{jp_base_url}{API}/executions", method="POST", body=body,
                                             headers={"Cookie": cookies}, raise_error=False)
    assert refused.code == 403
    assert (await api.ok("GET", "executions"))["executions"] == []
    xsrf = "secretxsrf"
    accepted = await http_server_client.fetch(
        f"{jp_base_url}{API}/executions", method="POST", body=body,
        headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf}, raise_error=False)
    assert accepted.code == 201, accepted.body


async def test_paths_outside_the_root_are_refused(api, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ipynb").write_text((root / "quick.ipynb").read_text())
    os.symlink(outside / "secret.ipynb", root / "link.ipynb")
    os.symlink(outside, root / "linkdir")
    for path in ["../outside/secret.ipynb", str(outside / "secret.ipynb"), "link.ipynb", "linkdir/secret.ipynb",
                 "sub/../../outside/secret.ipynb", "/etc/passwd", "quick.ipynb\x00.txt"]:
        status, err = await api("POST", "executions", body={"input_notebook": path})
        assert status == 400 and err["error"]["code"] == "bad_request", (path, err)
        status, _ = await api("GET", "notebooks", "parameters", params={"path": path})
        assert status == 400, path
    for dest in ["..", "../elsewhere", str(tmp_path), "linkdir"]:
        status, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb", "output_location": dest})
        assert status == 400, (dest, err)
    # An absolute path inside the root is fine.
    e = await api.ok("POST", "executions", body={"input_notebook": str(root / "quick.ipynb")}, expect=201)
    assert e["input_notebook"] == "quick.ipynb"
    done = await api.wait_done(e["id"])
    for dest in ["..", "../x", str(tmp_path / "x"), "linkdir"]:
        status, err = await api("POST", "executions", e["id"], "import", body={"dest_dir": dest})
        assert status == 400, (dest, err)
    assert not list(outside.glob("*.ipynb"))[1:]  # nothing was written outside
    assert done["state"] == "SUCCEEDED"


@pytest.mark.parametrize("jp_server_config", [{
    # (pytest-jupyter adds the terminals extension unless told: its websocket handler warns)
    "ServerApp": {"jpserver_extensions": {"notebook_executor": True, "jupyter_server_terminals": False},
                  "allow_unauthenticated_access": False},
}])
def test_no_auth_warning_when_unauthenticated_access_is_off(jp_configurable_serverapp, jp_server_config, tmp_path,
                                                            monkeypatch):
    from jupyter_server.utils import JupyterServerAuthWarning

    monkeypatch.setenv("NOTEBOOK_EXECUTOR_STORE", f"sqlite://{tmp_path}/store.sqlite")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=jp_server_config)
    assert app.allow_unauthenticated_access is False
    auth_warnings = [str(w.message) for w in caught if issubclass(w.category, JupyterServerAuthWarning)]
    assert auth_warnings == []
    # ...and the extension did load: its routes are served.
    assert app.extension_manager.extensions["notebook_executor"].extension_points["notebook_executor"].app.service
