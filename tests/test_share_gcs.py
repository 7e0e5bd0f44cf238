"""Sharing a result that lives in Cloud Storage, Cloud Storage's ways (`notebook-executor share`):
V4 signed URLs, checked against Google's signing process with the public key of a service
account key made here (and opened through the emulator), and read access to the bucket granted
through its IAM policy, against the proxy's IAM double in front of the emulator.

Credentials are cached process-wide by the core, so whatever needs them runs in a CLI process
of its own."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from cryptography.exceptions import InvalidSignature

import notebook_executor as nx
from gcs import Proxy, check_signed_url, service_account_key
from helpers import notebook

VIEWER = "roles/storage.objectViewer"


@pytest.fixture
def store(tmp_path) -> str:
    return f"sqlite://{tmp_path / 'store.sqlite'}"


def finished_in_bucket(store: str, bucket: str, tmp_path, alpha: int = 7):
    executor = nx.Executor(store)
    src = notebook(tmp_path / "in.ipynb", "print('alpha is', alpha)", params="alpha = 1")
    e = executor.submit(src, parameters={"alpha": alpha}, output_location=f"gs://{bucket}/results/")
    done = executor.wait(e.id, timeout=60)
    assert done.state == "SUCCEEDED", done.state_message
    return done


@pytest.fixture
def key(tmp_path):
    """A service-account key file: (its path, the account's email, its public key)."""
    path = tmp_path / "key.json"
    email, public_key = service_account_key(path)
    return path, email, public_key


def test_a_signed_url_is_googles_v4_signature_and_opens_the_page(cli, fake_gcs, bucket, store, key, tmp_path):
    done = finished_in_bucket(store, bucket, tmp_path)
    path, email, public_key = key
    r = cli("share", done.id, "--signed-url", "3600", "--notebook", "--store", store,
            env={"GOOGLE_APPLICATION_CREDENTIALS": str(path), "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    page_url, notebook_url = r.stdout.split()
    assert "expires 20" in r.stderr
    fields = check_signed_url(page_url, done.output_html_uri, email, public_key, fake_gcs.url, 3600)
    check_signed_url(notebook_url, done.output_notebook_uri, email, public_key, fake_gcs.url, 3600)
    # The checks can fail: a URL whose lifetime was changed no longer matches its signature.
    forged = page_url.replace("X-Goog-Expires=3600", "X-Goog-Expires=604800")
    with pytest.raises(InvalidSignature):
        check_signed_url(forged, done.output_html_uri, email, public_key, fake_gcs.url, 604800)
    # Another key's signature is not this account's.
    _, other_public_key = service_account_key(tmp_path / "other.json")
    with pytest.raises(InvalidSignature):
        check_signed_url(page_url, done.output_html_uri, email, other_public_key, fake_gcs.url, 3600)
    assert fields["X-Goog-Credential"].startswith(email + "/")
    # The emulator serves signed GETs (without checking them, as it does any request): the
    # page opens in a browser, as HTML.
    with urllib.request.urlopen(page_url, timeout=30) as page:
        assert page.headers["Content-Type"].startswith("text/html")
        assert b"alpha is 7" in page.read()
    with urllib.request.urlopen(notebook_url, timeout=30) as nb:
        assert "alpha is 7" in json.dumps(json.load(nb))


def test_signed_urls_refused(cli, fake_gcs, bucket, store, key, tmp_path):
    path, _, _ = key
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(path), "HOME": str(tmp_path)}
    done = finished_in_bucket(store, bucket, tmp_path)
    for seconds in ("0", "604801", "-5"):
        r = cli("share", done.id, "--signed-url", seconds, "--store", store, env=env)
        assert r.returncode == 2 and "give 1 to 604800 seconds" in r.stderr, r.stderr
    # A local result has share links, not signed URLs: the error names the field `kind`.
    executor = nx.Executor(store)
    local = executor.wait(executor.submit(notebook(tmp_path / "q.ipynb", "1"),
                                          output_location=str(tmp_path / "out")).id, timeout=60)
    r = cli("share", local.id, "--signed-url", "60", "--store", store, env=env)
    assert r.returncode == 2 and "kind: the result of execution" in r.stderr and "local folder" in r.stderr, r.stderr
    # A run that has not ended has no page yet.
    slow = executor.submit(notebook(tmp_path / "slow.ipynb", "import time; time.sleep(60)"),
                           output_location=f"gs://{bucket}/slow/")
    r = cli("share", slow.id, "--signed-url", "60", "--store", store, env=env)
    executor.cancel(slow.id)
    assert r.returncode == 2 and "its result page is written when the run ends" in r.stderr, r.stderr
    # An ended run whose page is gone.
    fake_gcs._call("DELETE", "/storage/v1/b/{}/o/{}".format(bucket, urllib.parse.quote(
        done.output_html_uri.split("/", 3)[3], safe="")))
    r = cli("share", done.id, "--signed-url", "60", "--store", store, env=env)
    assert r.returncode == 5 and "result page of execution" in r.stderr, r.stderr


def test_signing_needs_a_service_account(cli, fake_gcs, bucket, store, tmp_path):
    done = finished_in_bucket(store, bucket, tmp_path)
    # None at all (the metadata server's address answers nothing): a quick, clear error.
    start = time.monotonic()
    r = cli("share", done.id, "--signed-url", "60", "--store", store, env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and "no Google credentials" in r.stderr, r.stderr
    assert time.monotonic() - start < 15
    # A person's credentials (gcloud auth application-default login) cannot sign.
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"type": "authorized_user", "client_id": "c.apps.googleusercontent.com",
                                "client_secret": "s", "refresh_token": "r"}))
    r = cli("share", done.id, "--signed-url", "60", "--store", store,
            env={"GOOGLE_APPLICATION_CREDENTIALS": str(user), "HOME": str(tmp_path)})
    assert r.returncode == 2 and "cannot sign with these credentials" in r.stderr, r.stderr
    assert "service account" in r.stderr


# ------------------------------------------------------------------------------------------------
# Read access to the bucket, through its IAM policy
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(fake_gcs):
    """The emulator behind the proxy that serves bucket IAM (taken as the emulator: no
    credentials needed)."""
    p = Proxy(fake_gcs)
    yield p
    p.stop()


def _grant(cli, proxy, store, id, member, tmp_path):
    return cli("share", id, "--grant", member, "--store", store,
               env={"STORAGE_EMULATOR_HOST": proxy.url, "HOME": str(tmp_path)})


def _iam_calls(proxy, method):
    return [path for m, path, _ in proxy.requests if m == method and "/iam" in path]


def test_a_grant_adds_the_member_once_and_warns(cli, fake_gcs, bucket, store, proxy, tmp_path):
    done = finished_in_bucket(store, bucket, tmp_path)
    before = proxy.iam.policy(bucket)["bindings"][:]
    r = _grant(cli, proxy, store, done.id, "ana@example.com", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"user:ana@example.com: granted {VIEWER} on gs://{bucket}"
    assert "warning: Granting this role lets the person read every object in the bucket, not only this result." \
        in r.stderr
    assert proxy.iam.members(bucket, VIEWER) == ["user:ana@example.com"]
    # The other bindings are as they were; the policy was read with version 3.
    assert all(b in proxy.iam.policy(bucket)["bindings"] for b in before)
    assert all("optionsRequestedPolicyVersion=3" in p for p in _iam_calls(proxy, "GET"))
    assert proxy.iam.writes == [bucket]
    # Again, and as user:EMAIL: nothing changes, nothing is written.
    r = _grant(cli, proxy, store, done.id, "user:ana@example.com", tmp_path)
    assert r.returncode == 0 and "already had" in r.stdout, r.stderr
    assert proxy.iam.writes == [bucket]
    r = _grant(cli, proxy, store, done.id, "group:team@example.org", tmp_path)
    assert r.returncode == 0, r.stderr
    assert proxy.iam.members(bucket, VIEWER) == ["user:ana@example.com", "group:team@example.org"]


def test_a_concurrent_change_is_kept_and_the_grant_done_again(cli, fake_gcs, bucket, store, proxy, tmp_path):
    done = finished_in_bucket(store, bucket, tmp_path)
    conditional = {"role": VIEWER, "members": ["user:temp@example.com"],
                   "condition": {"title": "until June", "expression": 'request.time < timestamp("2030-06-01T00:00:00Z")'}}
    # Between our read and our write, someone adds a conditional binding (so version 3).
    proxy.iam.before_write.append(lambda iam, b: iam.change(b, lambda bindings: bindings.append(conditional), 3))
    r = _grant(cli, proxy, store, done.id, "serviceAccount:reader@p.iam.gserviceaccount.com", tmp_path)
    assert r.returncode == 0, r.stderr
    policy = proxy.iam.policy(bucket)
    assert conditional in policy["bindings"] and policy["version"] == 3
    assert proxy.iam.members(bucket, VIEWER) == ["serviceAccount:reader@p.iam.gserviceaccount.com"]
    # The first write was refused (412: the etag was stale), the second made on a new read.
    assert len(_iam_calls(proxy, "PUT")) == 2 and len(_iam_calls(proxy, "GET")) == 2
    # A policy that changes before every write: the grant gives up with a clear error.
    churn = lambda iam, b: iam.change(b, lambda bindings: None)  # noqa: E731
    proxy.iam.before_write.extend([churn] * 3)
    r = _grant(cli, proxy, store, done.id, "domain:example.com", tmp_path)
    assert r.returncode == 2 and f"IAM policy of bucket {bucket} kept changing" in r.stderr, r.stderr
    assert "domain:example.com" not in proxy.iam.members(bucket, VIEWER)


def test_grants_refused(cli, fake_gcs, bucket, store, proxy, tmp_path):
    done = finished_in_bucket(store, bucket, tmp_path)
    proxy.iam.denied = {"set"}
    r = _grant(cli, proxy, store, done.id, "ana@example.com", tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"no permission to change the IAM policy of bucket {bucket}" in r.stderr
    assert "does not have storage.buckets.setIamPolicy access" in r.stderr  # the service's words
    assert proxy.iam.members(bucket, VIEWER) == []
    proxy.iam.denied = set()
    for member in ("allUsers", "ana", "user:ana", "domain:ana@example.com"):
        r = _grant(cli, proxy, store, done.id, member, tmp_path)
        assert r.returncode == 2 and "is not a member to grant access to" in r.stderr, (member, r.stderr)
    assert proxy.iam.writes == []
