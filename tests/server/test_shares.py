"""Share links: a read-only page of one result that opens without the server's token;
unguessable, expiring, listed, revocable, and showing nothing else."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlparse

import pytest

from notebook_executor.server.handlers import RESULT_CSP


async def _finished(api, alpha: int) -> dict:
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": alpha}},
                     expect=201)
    return await api.wait_done(e["id"])


async def _open(http_server_client, url: str, **headers):
    """Opens a link as someone without the owner's token (no auth header, no cookie)."""
    path = urlparse(url).path
    return await http_server_client.fetch(path, raise_error=False, follow_redirects=False, headers=headers or None)


async def test_a_link_opens_that_result_without_auth(api, http_server_client):
    shared, other = await _finished(api, 11), await _finished(api, 22)
    link = await api.ok("POST", "executions", shared["id"], "share", body={}, expect=201)
    assert link["execution_id"] == shared["id"] and link["expire_time"] > link["create_time"]
    token = link["url"].rsplit("/", 1)[1]
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    page = await _open(http_server_client, link["url"])
    assert page.code == 200 and b"alpha=11" in page.body and b"alpha=22" not in page.body
    assert page.headers["Content-Security-Policy"] == RESULT_CSP
    assert "Set-Cookie" not in page.headers
    # The link is for that page only: not for the API, nor for the other result.
    for path in (f"executions/{other['id']}", f"executions/{other['id']}/result", "executions"):
        r = await _open(http_server_client, f"{link['url'].split('/notebook-executor/')[0]}/notebook-executor/api/v1/{path}",
                        Referer=link["url"])
        assert r.code in (302, 403), (path, r.code)


async def test_links_are_listed_revoked_and_unguessable(api, http_server_client):
    e = await _finished(api, 1)
    a = await api.ok("POST", "executions", e["id"], "share", expect=201)
    b = await api.ok("POST", "executions", e["id"], "share", body={"lifetime_seconds": 60}, expect=201)
    assert a["url"] != b["url"]
    listed = (await api.ok("GET", "executions", e["id"], "shares"))["shares"]
    assert {s["id"] for s in listed} == {a["id"], b["id"]} and all("url" not in s for s in listed)
    await api.ok("DELETE", "executions", e["id"], "shares", a["id"], expect=204)
    assert (await _open(http_server_client, a["url"])).code == 404
    assert (await _open(http_server_client, b["url"])).code == 200
    assert [s["id"] for s in (await api.ok("GET", "executions", e["id"], "shares"))["shares"]] == [b["id"]]
    code, err = await api("DELETE", "executions", e["id"], "shares", a["id"])
    assert code == 404
    # A near miss of a live token, and made-up tokens, show nothing.
    token = b["url"].rsplit("/", 1)[1]
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    for guess in (near, "A" * 43, e["id"], b["id"]):
        r = await _open(http_server_client, b["url"].rsplit("/", 1)[0] + "/" + guess)
        assert r.code == 404 and b"alpha" not in r.body, guess


@pytest.mark.parametrize("extension_config", [{"share_lifetime_seconds": 1.0}])
async def test_links_expire(api, http_server_client):
    e = await _finished(api, 3)
    code, err = await api("POST", "executions", e["id"], "share", body={"lifetime_seconds": 3600})
    assert code == 400 and err["error"]["code"] == "bad_request"  # longer than the server allows
    for bad in (0, -5, "soon", True):
        assert (await api("POST", "executions", e["id"], "share", body={"lifetime_seconds": bad}))[0] == 400
    link = await api.ok("POST", "executions", e["id"], "share", expect=201)
    assert (await _open(http_server_client, link["url"])).code == 200
    await asyncio.sleep(1.2)
    assert (await _open(http_server_client, link["url"])).code == 404
    assert (await api.ok("GET", "executions", e["id"], "shares"))["shares"] == []


@pytest.mark.parametrize("extension_config", [{"share_lifetime_seconds": 1e300}])
async def test_a_server_that_allows_links_forever_caps_them_at_a_hundred_years(api, http_server_client):
    e = await _finished(api, 5)
    link = await api.ok("POST", "executions", e["id"], "share", body={"lifetime_seconds": 1e300}, expect=201)
    assert int(link["expire_time"][:4]) - int(link["create_time"][:4]) in (99, 100)
    assert (await _open(http_server_client, link["url"])).code == 200


async def test_deleting_the_execution_ends_its_links(api, http_server_client):
    e = await _finished(api, 4)
    link = await api.ok("POST", "executions", e["id"], "share", expect=201)
    await api.ok("DELETE", "executions", e["id"], expect=204)
    assert (await _open(http_server_client, link["url"])).code == 404
