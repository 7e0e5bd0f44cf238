"""Share links: a read-only page of one result that opens without the server's token;
unguessable, expiring, listed, revocable, and showing nothing else. For a result in Cloud
Storage, also Cloud Storage's ways: a signed URL, or read access to the bucket (against the
emulator, and the IAM double of tests/gcs.py's proxy)."""

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


# ------------------------------------------------------------------------------------------------
# A result in Cloud Storage: also a signed URL, or read access to its bucket
# ------------------------------------------------------------------------------------------------

VIEWER = "roles/storage.objectViewer"


async def _finished_in_bucket(api, bucket: str, alpha: int) -> dict:
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": alpha},
                                                 "output_location": f"gs://{bucket}/team/"}, expect=201)
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED", done
    return done


async def test_a_signed_url_of_a_result_in_a_bucket(api, fake_gcs, bucket, monkeypatch, tmp_path):
    from gcs import check_signed_url, service_account_key

    done = await _finished_in_bucket(api, bucket, 31)
    key = tmp_path / "key.json"
    email, public_key = service_account_key(key)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("HOME", str(tmp_path))
    signed = await api.ok("POST", "executions", done["id"], "share",
                          body={"kind": "signed_url", "lifetime_seconds": 900}, expect=201)
    assert set(signed) == {"kind", "url", "expire_time"} and signed["kind"] == "signed_url"
    check_signed_url(signed["url"], done["output_html_uri"], email, public_key, fake_gcs.url, 900)
    with_notebook = await api.ok("POST", "executions", done["id"], "share",
                                 body={"kind": "signed_url", "include_notebook": True}, expect=201)
    # By default as long as the server allows links, here its default 7 days: Cloud Storage's limit.
    check_signed_url(with_notebook["url"], done["output_html_uri"], email, public_key, fake_gcs.url, 604800)
    check_signed_url(with_notebook["notebook_url"], done["output_notebook_uri"], email, public_key, fake_gcs.url,
                     604800)
    page = urlopen_text(signed["url"])
    assert "alpha=31" in page
    # Not a share link: nothing is listed or stored for it.
    assert (await api.ok("GET", "executions", done["id"], "shares"))["shares"] == []
    for body in ({"kind": "signed_url", "lifetime_seconds": 604801}, {"kind": "signed_url", "lifetime_seconds": 1.5},
                 {"kind": "signed_url", "lifetime_seconds": 0}, {"kind": "signed_url", "include_notebook": "yes"},
                 {"kind": "signed_url", "member": "ana@example.com"}):
        code, err = await api("POST", "executions", done["id"], "share", body=body)
        assert code == 400 and err["error"]["field"] in ("lifetime_seconds", "include_notebook", "member"), (body, err)
    # Without credentials that can sign: 503 with what to set.
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    code, err = await api("POST", "executions", done["id"], "share", body={"kind": "signed_url"})
    assert code == 503 and err["error"]["code"] == "no_credentials", err
    assert "GOOGLE_APPLICATION_CREDENTIALS" in err["error"]["message"]


def urlopen_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


async def test_bucket_access_to_a_result_in_a_bucket(api, fake_gcs, bucket, monkeypatch, tmp_path):
    from gcs import Proxy

    done = await _finished_in_bucket(api, bucket, 32)
    proxy = Proxy(fake_gcs)
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        grant = await api.ok("POST", "executions", done["id"], "share",
                             body={"kind": "bucket_access", "member": "ana@example.com"}, expect=201)
        assert grant == {"kind": "bucket_access", "bucket": bucket, "member": "user:ana@example.com", "role": VIEWER,
                         "changed": True, "warning": "Granting this role lets the person read every object in the "
                                                     "bucket, not only this result."}
        assert proxy.iam.members(bucket, VIEWER) == ["user:ana@example.com"]
        again = await api.ok("POST", "executions", done["id"], "share",
                             body={"kind": "bucket_access", "member": "user:ana@example.com"}, expect=201)
        assert again["changed"] is False and proxy.iam.writes == [bucket]
        for body in ({"kind": "bucket_access"}, {"kind": "bucket_access", "member": "allUsers"},
                     {"kind": "bucket_access", "member": 5}, {"kind": "bucket_access", "member": "x", "lifetime_seconds": 5}):
            code, err = await api("POST", "executions", done["id"], "share", body=body)
            assert code == 400 and err["error"]["field"] in ("member", "lifetime_seconds"), (body, err)
        proxy.iam.denied = {"get"}
        code, err = await api("POST", "executions", done["id"], "share",
                              body={"kind": "bucket_access", "member": "bob@example.com"})
        assert code == 403 and err["error"]["code"] == "permission_denied", err
        assert f"no permission to read the IAM policy of bucket {bucket}" in err["error"]["message"]
        proxy.iam.denied = set()
        churn = lambda iam, b: iam.change(b, lambda bindings: None)  # noqa: E731
        proxy.iam.before_write.extend([churn] * 3)
        code, err = await api("POST", "executions", done["id"], "share",
                              body={"kind": "bucket_access", "member": "bob@example.com"})
        assert code == 409 and "kept changing" in err["error"]["message"], err
        # The read-only link is offered for it too.
        link = await api.ok("POST", "executions", done["id"], "share", body={"kind": "link"}, expect=201)
        assert link["kind"] == "link" and "/notebook-executor/shared/" in link["url"]
    finally:
        proxy.stop()


async def test_cloud_storage_kinds_of_a_local_result_or_an_unfinished_run(api, root, fake_gcs, bucket):
    from helpers import notebook

    local = await _finished(api, 6)
    for body in ({"kind": "signed_url"}, {"kind": "bucket_access", "member": "ana@example.com"}):
        code, err = await api("POST", "executions", local["id"], "share", body=body)
        assert code == 400 and err["error"]["field"] == "kind", err
        assert "local folder" in err["error"]["message"] and '"link"' in err["error"]["message"]
    for body in ({"kind": "email"}, {"kind": None}, {"kind": ["link"]}, {"kind": "link", "member": "a@b.co"},
                 {"kind": "link", "include_notebook": True}):
        code, err = await api("POST", "executions", local["id"], "share", body=body)
        assert code == 400 and err["error"]["field"] in ("kind", "member", "include_notebook"), (body, err)
    # A run in a bucket that has not ended: its page is not written yet.
    notebook(root / "slow.ipynb", "import time; time.sleep(60)")
    running = await api.ok("POST", "executions", body={"input_notebook": "slow.ipynb",
                                                       "output_location": f"gs://{bucket}/slow/"}, expect=201)
    code, err = await api("POST", "executions", running["id"], "share", body={"kind": "signed_url"})
    await api.ok("POST", "executions", running["id"], "cancel")
    assert code == 409 and "its result page is written when the run ends" in err["error"]["message"], err
