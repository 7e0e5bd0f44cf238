"""A test double of the Vertex AI REST API, `projects.locations.customJobs` (create, get, list,
cancel), on loopback, for the tests of the Vertex AI backend. No Vertex AI emulator exists, so
this one holds requests to the published contract and really runs each job's container command
as a local process (the image is only recorded).

What it is held to, and where each rule comes from:
- Request bodies are checked against the `GoogleCloudAiplatformV1CustomJob` schema of the
  discovery document that google-api-python-client ships (`aiplatform.v1.json`): unknown fields,
  wrong JSON types, bad enums and durations are INVALID_ARGUMENT, worded as Google's JSON
  front end words them ("Invalid JSON payload received. Unknown name ... Cannot find field.").
  One deliberate strictness: int64 fields must be JSON strings, as the discovery document types
  them. Proto3's JSON mapping lets a real server also accept a number there (see
  `strict_int64`); the backend must not rely on that.
- Required fields, label rules and the other semantic checks follow the schema descriptions
  (displayName <= 128 characters, bootDiskType values, the network name form, at most 100 env
  variables) and Google's label rules (keys and values <= 63 characters, lowercase letters,
  digits, `_` and `-`, international characters, keys starting with a letter, <= 64 labels). The
  CustomJob schema says "no longer than 64 characters"; the stricter 63 of Google's general
  rules is used so that whatever passes here passes there too. Their message wording
  ("List of found errors: ...") is the shape Vertex AI uses for validation errors, from memory:
  tests should match the status, not the text.
- Lifecycle: JOB_STATE_QUEUED -> JOB_STATE_PENDING -> JOB_STATE_RUNNING (startTime) -> an end
  state (endTime), as the JobState enum describes it.
- A replica that exits non-zero fails the job with google.rpc code 3 and "The replica
  workerpool0-0 exited with a non-zero status of N. To find out more about why your job exited
  please check the logs: <Cloud Logging link>" (wording as real jobs report it, e.g. the job
  error quoted in GoogleCloudPlatform/vertex-ai-samples PR #1504, code 3, and the log link form
  kept verbatim in public incident tests).
- Cancel: "On successful cancellation ... it becomes a job with a CustomJob.error value with a
  google.rpc.Status.code of 1, corresponding to Code.CANCELLED, and CustomJob.state is set to
  CANCELLED" (customJobs.cancel in the discovery document); the message is "CANCELED"
  (PrefectHQ prefect-gcp's Vertex worker relies on "CANCELED" in the error message of cancelled
  jobs). Cancelling a job that has ended is FAILED_PRECONDITION, as Google's job APIs answer it
  (Dataproc: "Cannot cancel jobId ... in state"; Storage batch operations: FailedPrecondition
  for a completed job); Vertex AI's own answer for this case is not documented.
- scheduling.timeout: "The maximum job running time. The default is 7 days." (discovery
  document). Counted from JOB_STATE_RUNNING, and a job that outlives it is CANCELLED: AI
  Platform Training, Vertex's predecessor, documents for the same field "If the training job is
  still running after this duration, AI Platform Training cancels it. The duration is measured
  from when the job enters the RUNNING state" (ml.v1 Scheduling.maxRunningTime), and a Vertex
  job that ran into the default 7 days was cancelled (tensorflow/tfx issue #6223). The exact
  error message of a timed-out job is not documented: TIMEOUT_MESSAGE below is this double's.
- Quota: a job refused for quota ends JOB_STATE_FAILED with code 8 (RESOURCE_EXHAUSTED) and "The
  following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_..."
  (GoogleCloudPlatform/vertex-ai-samples issue #700); `fail_next_job` plays that.
- Environment of a job: CLOUD_ML_PROJECT_ID, CLOUD_ML_REGION (set in Vertex training containers,
  read by Google's R training sample in vertex-ai-samples), CLOUD_ML_JOB_ID and CLUSTER_SPEC
  (google.cloud.aiplatform.training_utils.environment_variables, with the CLUSTER_SPEC format of
  its tests), and AIP_MODEL_DIR / AIP_CHECKPOINT_DIR / AIP_TENSORBOARD_LOG_DIR when
  jobSpec.baseOutputDirectory is set (CustomJobSpec.baseOutputDirectory in the discovery doc).
- Errors are google.rpc.Status bodies: {"error": {"code": HTTP, "message", "status"}}.

Limits of the double: only the first replica of the first worker pool runs; a pool without
containerSpec.command (the image's ENTRYPOINT) or with pythonPackageSpec cannot run here and
fails the job with a message saying so; TF_CONFIG is not set; `readMask` is accepted and ignored.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

QUEUED, PENDING, RUNNING = "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"
SUCCEEDED, FAILED = "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"
CANCELLING, CANCELLED = "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"
ENDED = (SUCCEEDED, FAILED, CANCELLED)

# google.rpc.Code values used on jobs.
CODE_CANCELLED, CODE_INVALID_ARGUMENT, CODE_RESOURCE_EXHAUSTED = 1, 3, 8

CANCELED_MESSAGE = "CANCELED"
TIMEOUT_MESSAGE = "The job exceeded its maximum running time (scheduling.timeout {timeout}) and was cancelled."
QUOTA_MESSAGE = "The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_cpus"

_AUTH_HELP = ("Expected OAuth 2 access token, login cookie or other valid authentication credential. "
              "See https://developers.google.com/identity/sign-in/web/devconsole-project.")

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}

# Query parameters every Google REST method takes besides its own.
_SYSTEM_QUERY_PARAMS = {"alt", "$alt", "fields", "$fields", "prettyPrint", "key", "access_token", "quotaUser",
                        "callback", "$callback", "upload_protocol", "uploadType", "$.xgafv"}

_COLLECTION = re.compile(r"^/v1/projects/([^/:]+)/locations/([^/:]+)/customJobs$")
_RESOURCE = re.compile(r"^/v1/projects/([^/:]+)/locations/([^/:]+)/customJobs/([^/:]+)(:cancel)?$")


class ApiError(Exception):
    """An answer that is a google.rpc.Status error."""

    def __init__(self, http_status: int, message: str, details: list | None = None, status: str | None = None):
        super().__init__(message)
        self.http_status, self.message, self.details = http_status, message, details
        self.status = status or _STATUS_NAMES[http_status]

    def body(self) -> dict:
        error = {"code": self.http_status, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _invalid(message: str, field: str | None = None) -> ApiError:
    details = None
    if field is not None:
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": message}]}]
    return ApiError(400, message, details)


def _now() -> str:
    """RFC 3339 in UTC with a Z, as Google's JSON writes timestamps."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------------------------------------
# The discovery document and validation against it
# ------------------------------------------------------------------------------------------------

_DISCOVERY: dict | None = None


def discovery() -> dict:
    """aiplatform.v1's discovery document, as the installed google-api-python-client ships it."""
    global _DISCOVERY
    if _DISCOVERY is None:
        import googleapiclient

        path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents",
                            "aiplatform.v1.json")
        with open(path, encoding="utf-8") as f:
            _DISCOVERY = json.load(f)
    return _DISCOVERY


def _schema(ref: str) -> dict:
    return discovery()["schemas"][ref]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _proto_type(schema: dict) -> str:
    """How Google's JSON front end names a field's type in an "Invalid value" message."""
    if "$ref" in schema:
        return "type.googleapis.com/google.cloud.aiplatform.v1." + schema["$ref"].removeprefix("GoogleCloudAiplatformV1")
    kind, fmt = schema.get("type"), schema.get("format")
    if "enum" in schema:
        return "TYPE_ENUM"
    return {
        ("string", None): "TYPE_STRING", ("string", "int64"): "TYPE_INT64", ("string", "uint64"): "TYPE_UINT64",
        ("string", "byte"): "TYPE_BYTES", ("string", "google-duration"): "type.googleapis.com/google.protobuf.Duration",
        ("string", "google-datetime"): "type.googleapis.com/google.protobuf.Timestamp",
        ("string", "google-fieldmask"): "type.googleapis.com/google.protobuf.FieldMask",
        ("integer", "int32"): "TYPE_INT32", ("integer", "uint32"): "TYPE_UINT32", ("boolean", None): "TYPE_BOOL",
        ("number", "double"): "TYPE_DOUBLE", ("number", "float"): "TYPE_FLOAT",
    }.get((kind, fmt), f"TYPE_{str(kind).upper()}")


_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
_INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
               "uint64": (0, 2**64 - 1)}


class SchemaValidator:
    """Checks a JSON value against a discovery-document schema, failing on the first problem as
    Google's JSON front end does."""

    def __init__(self, strict_int64: bool = True):
        self.strict_int64 = strict_int64

    def check(self, value, schema: dict, path: str, in_container: bool = False):
        if value is None and not in_container:  # proto3 JSON: a field set to null is a field not set
            return
        bad = _invalid(f"Invalid value at '{path}' ({_proto_type(schema)}), {json.dumps(value)}", path)
        if "$ref" in schema:
            return self._message(value, _schema(schema["$ref"]), path, bad)
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "any":
            return
        if kind == "array":
            if not isinstance(value, list):
                raise bad
            for i, item in enumerate(value):
                self.check(item, schema["items"], f"{path}[{i}]", in_container=True)
            return
        if kind == "object":
            if "additionalProperties" in schema:  # a map
                if not isinstance(value, dict):
                    raise bad
                for key, item in value.items():
                    self.check(item, schema["additionalProperties"], f"{path}[{json.dumps(key)}]", in_container=True)
                return
            return self._message(value, schema, path, bad)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise bad
            return
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            low, high = _INT_RANGES[fmt]
            if not low <= value <= high:
                raise bad
            return
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad
            return
        if kind == "string":
            if fmt in ("int64", "uint64"):
                if isinstance(value, int) and not isinstance(value, bool) and not self.strict_int64:
                    value = str(value)
                if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
                    raise bad
                low, high = _INT_RANGES[fmt]
                if not low <= int(value) <= high:
                    raise bad
                return
            if not isinstance(value, str):
                raise bad
            if "enum" in schema and value not in schema["enum"]:
                raise bad
            if fmt == "google-duration" and not _DURATION.match(value):
                raise bad
            if fmt == "google-datetime" and not _TIMESTAMP.match(value):
                raise bad
            if fmt == "byte":
                try:
                    base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4),
                                     validate=True)
                except ValueError:
                    raise bad from None
            return
        raise AssertionError(f"schema type {kind!r} at {path} is not handled")

    def _message(self, value, schema: dict, path: str, bad: ApiError):
        if not isinstance(value, dict):
            raise bad
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key not in properties:
                message = f"Invalid JSON payload received. Unknown name {json.dumps(key)} at '{path}': Cannot find field."
                raise _invalid(message, path)
            self.check(item, properties[key], f"{path}.{_snake(key)}")


def prune_defaults(value, schema: dict):
    """`value` as Google's JSON writes it back: message fields holding their default value (null,
    "", 0, "0", false, [], {}, an enum's first value) are left out; nested messages are kept."""
    if value is None:
        return None
    if "$ref" in schema:
        schema = _schema(schema["$ref"])
    kind = schema.get("type")
    if kind == "array":
        return [prune_defaults(item, schema["items"]) for item in value]
    if kind == "object" and "additionalProperties" in schema:
        return {key: prune_defaults(item, schema["additionalProperties"]) for key, item in value.items()}
    if kind == "object":
        out = {}
        for key, item in value.items():
            field = schema.get("properties", {}).get(key, {})
            item = prune_defaults(item, field)
            is_message = "$ref" in field or (field.get("type") == "object" and "additionalProperties" not in field)
            if item is None or (not is_message and item in ("", 0, "0", False, [], {})):
                continue
            if "enum" in field and item == field["enum"][0]:
                continue
            if field.get("format") in ("int64", "uint64") and isinstance(item, int):
                item = str(item)  # accepted as a number when not strict, written back as a string
            out[key] = item
        return out
    return value


# ------------------------------------------------------------------------------------------------
# Semantic rules of a CustomJob (beyond JSON types)
# ------------------------------------------------------------------------------------------------

_BOOT_DISK_TYPES = ("pd-ssd", "pd-standard", "hyperdisk-balanced")
_NETWORK = re.compile(r"^projects/[^/]+/global/networks/[^/]+$")
MAX_LABELS, MAX_LABEL_CHARS, MAX_DISPLAY_NAME, MAX_ENV = 64, 63, 128, 100


def _label_char_ok(c: str) -> bool:
    if c in "_-" or ("a" <= c <= "z") or ("0" <= c <= "9"):
        return True
    return ord(c) > 127 and c.isalnum() and not c.isupper()  # international characters, but never uppercase


def label_problems(labels: dict) -> list[tuple[str, str]]:
    """(field, message) for each broken label rule."""
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append(("custom_job.labels", f"At most {MAX_LABELS} labels are allowed, got {len(labels)}."))
    for key, value in labels.items():
        field = f"custom_job.labels[{json.dumps(key)}]"
        if not key or len(key) > MAX_LABEL_CHARS:
            problems.append((field, f"Label key {json.dumps(key)} must be 1 to {MAX_LABEL_CHARS} characters long."))
        elif not (key[0].isalpha() and not key[0].isupper()):
            problems.append((field, f"Label key {json.dumps(key)} must start with a lowercase letter."))
        elif not all(_label_char_ok(c) for c in key):
            problems.append((field, f"Label key {json.dumps(key)} may contain only lowercase letters, digits, "
                                    "underscores and dashes."))
        if len(value) > MAX_LABEL_CHARS:
            problems.append((field, f"Label value {json.dumps(value)} is longer than {MAX_LABEL_CHARS} characters."))
        elif not all(_label_char_ok(c) for c in value):
            problems.append((field, f"Label value {json.dumps(value)} may contain only lowercase letters, digits, "
                                    "underscores and dashes."))
    return problems


def custom_job_problems(job: dict) -> list[tuple[str, str]]:
    """(field, message) for each rule of the CustomJob resource that `job` breaks."""
    problems = []

    def required(field):
        problems.append((field, "Required field is not set."))

    display_name = job.get("displayName") or ""
    if not display_name:
        required("custom_job.display_name")
    elif len(display_name) > MAX_DISPLAY_NAME:
        problems.append(("custom_job.display_name", f"Must be at most {MAX_DISPLAY_NAME} characters long."))
    problems += label_problems(job.get("labels") or {})
    spec = job.get("jobSpec")
    if not spec:
        required("custom_job.job_spec")
        return problems
    pools = spec.get("workerPoolSpecs") or []
    if not pools:
        required("custom_job.job_spec.worker_pool_specs")
    elif not pools[0]:
        required("custom_job.job_spec.worker_pool_specs[0]")
    for i, pool in enumerate(pools):
        if not pool:  # pools after the first may be left empty
            continue
        at = f"custom_job.job_spec.worker_pool_specs[{i}]"
        machine = pool.get("machineSpec") or {}
        if not machine.get("machineType"):
            required(f"{at}.machine_spec.machine_type")
        accelerator = machine.get("acceleratorType") or "ACCELERATOR_TYPE_UNSPECIFIED"
        if (machine.get("acceleratorCount") or 0) > 0 and accelerator == "ACCELERATOR_TYPE_UNSPECIFIED":
            problems.append((f"{at}.machine_spec.accelerator_type", "Required when accelerator_count is set."))
        if pool.get("replicaCount") is not None and int(pool["replicaCount"]) < 1:
            problems.append((f"{at}.replica_count", "Must be at least 1."))
        disk = pool.get("diskSpec") or {}
        if disk.get("bootDiskType") and disk["bootDiskType"] not in _BOOT_DISK_TYPES:
            problems.append((f"{at}.disk_spec.boot_disk_type", f"Must be one of {', '.join(_BOOT_DISK_TYPES)}."))
        if disk.get("bootDiskSizeGb") is not None and disk["bootDiskSizeGb"] < 0:
            problems.append((f"{at}.disk_spec.boot_disk_size_gb", "Must not be negative."))
        container, package = pool.get("containerSpec"), pool.get("pythonPackageSpec")
        if container and package:
            problems.append((at, "Only one of container_spec and python_package_spec may be set."))
        elif container is not None:
            if not container.get("imageUri"):
                required(f"{at}.container_spec.image_uri")
            env = container.get("env") or []
            if len(env) > MAX_ENV:
                problems.append((f"{at}.container_spec.env", f"At most {MAX_ENV} environment variables are allowed."))
            for j, var in enumerate(env):
                if not var.get("name"):
                    required(f"{at}.container_spec.env[{j}].name")
        elif package is not None:
            for name, key in (("executor_image_uri", "executorImageUri"), ("package_uris", "packageUris"),
                              ("python_module", "pythonModule")):
                if not package.get(key):
                    required(f"{at}.python_package_spec.{name}")
        else:
            required(f"{at}.container_spec")
    network = spec.get("network")
    if network and not _NETWORK.match(network):
        problems.append(("custom_job.job_spec.network",
                         "Must be of the form projects/{project}/global/networks/{network}."))
    timeout = (spec.get("scheduling") or {}).get("timeout")
    if timeout and duration_seconds(timeout) <= 0:
        problems.append(("custom_job.job_spec.scheduling.timeout", "Must be positive."))
    return problems


def duration_seconds(text: str) -> float:
    return float(text[:-1])


def _problems_error(problems: list[tuple[str, str]]) -> ApiError:
    listed = "".join(f"{i}.Field: {field}; Message: {message}\t" for i, (field, message) in enumerate(problems, 1))
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message} for field, message in problems]}]
    return ApiError(400, f"List of found errors:\t{listed}", details)


# ------------------------------------------------------------------------------------------------
# List filters
# ------------------------------------------------------------------------------------------------

_TERM = re.compile(r'^(labels\.(?P<key>[^\s=!:"]+)|(?P<field>state|display_name|displayName|create_time))\s*'
                   r'(?P<op>!=|>=|<=|=|>|<|:)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)$')


def parse_filter(text: str) -> list[tuple[str, str, str, str]]:
    """The terms (kind, key, op, value) of a list filter: `labels.KEY="VALUE"` (or unquoted),
    `labels.KEY:*`, `state=JOB_STATE_...`, `display_name="..."`, with = or !=, and
    `create_time` compared (=, !=, <, <=, >, >=) with an RFC 3339 time, joined by AND."""
    terms = []
    if not text.strip():
        return terms
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = _TERM.match(part.strip())
        if not match:
            raise _invalid(f"Unsupported filter {json.dumps(text)}: cannot parse {json.dumps(part)} (this double "
                           'supports labels.KEY="VALUE", labels.KEY:*, state=..., display_name=... joined by AND).')
        value = match["value"]
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        kind = "labels" if match["key"] else {"state": "state", "create_time": "create_time"}.get(
            match["field"], "display_name")
        op = match["op"]
        if op in (">", ">=", "<", "<=") and kind != "create_time":
            raise _invalid(f"Invalid filter {json.dumps(text)}: {op} compares create_time only.")
        if kind == "create_time":
            try:
                value = _instant(value)
            except ValueError:
                raise _invalid(f"Invalid filter {json.dumps(text)}: create_time must be in RFC 3339 format.") from None
        if op == ":" and not (kind == "labels" and value == "*"):
            raise _invalid(f"Unsupported filter {json.dumps(text)}: ':' is supported only as labels.KEY:*.")
        if kind == "state" and value not in _schema("GoogleCloudAiplatformV1CustomJob")["properties"]["state"]["enum"]:
            raise _invalid(f"Invalid filter {json.dumps(text)}: {json.dumps(value)} is not a JobState.")
        terms.append((kind, match["key"] or "", op, value))
    return terms


def _instant(text: str):
    import datetime

    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def filter_matches(terms, resource: dict) -> bool:
    for kind, key, op, value in terms:
        if kind == "labels":
            labels = resource.get("labels") or {}
            if op == ":":
                ok = key in labels
            else:
                ok = labels.get(key) == value
                ok = ok if op == "=" else not ok
        elif kind == "create_time":
            actual = _instant(resource["createTime"])
            ok = {"=": actual == value, "!=": actual != value, ">": actual > value, ">=": actual >= value,
                  "<": actual < value, "<=": actual <= value}[op]
        else:
            actual = resource.get("state") if kind == "state" else resource.get("displayName")
            ok = (actual == value) if op == "=" else (actual != value)
        if not ok:
            return False
    return True


# ------------------------------------------------------------------------------------------------
# Jobs
# ------------------------------------------------------------------------------------------------


class FakeJob:
    """One CustomJob: `body` as the client created it, `resource` as the API shows it, and the
    local process running its command (`process`, `argv`, `env`, `log`)."""

    def __init__(self, name: str, project: str, region: str, job_id: str, body: dict, resource: dict):
        self.name, self.project, self.region, self.id = name, project, region, job_id
        self.body, self.resource = body, resource
        self.process: subprocess.Popen | None = None
        self.argv: list[str] | None = None
        self.env: dict[str, str] | None = None
        self.states: list[str] = [resource["state"]]  # every state it went through, in order
        self.cancel_requested = threading.Event()
        self.log_path: str | None = None
        self._log_text: str | None = None
        self.thread: threading.Thread | None = None

    @property
    def state(self) -> str:
        return self.resource["state"]

    @property
    def log(self) -> str:
        """What the job's process wrote (stdout and stderr, interleaved)."""
        if self._log_text is not None:
            return self._log_text
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        return ""


class FakeVertex:
    """The customJobs REST API on 127.0.0.1 (see the module docstring for the contract).

    - `check_auth(authorization_header_value_or_empty) -> bool`; by default, "Bearer <token>".
    - `job_env`: variables added to the environment of job processes (e.g. PATH,
      STORAGE_EMULATOR_HOST).
    - `queue_seconds`, `pending_seconds`: how long a job stays QUEUED, then PENDING (read when a
      job is created, so tests may change them between jobs); `cancel_seconds`: how long
      CANCELLING lasts before the process is killed; `kill_grace_seconds`: SIGTERM -> SIGKILL.
    - `faults`: consumed one per request before anything else: "429", "503", "401", "403", or
      "drop" (close the connection without answering).
    - `requests`: (method, path with query, body parsed as JSON or None, Authorization or "").
    - `jobs`: FakeJob by resource name.
    """

    def __init__(self, check_auth=None, token: str = "vertex-test-token", job_env: dict | None = None,
                 queue_seconds: float = 0.2, pending_seconds: float = 0.2, cancel_seconds: float = 0.1,
                 kill_grace_seconds: float = 2.0, strict_int64: bool = True):
        self.check_auth = check_auth or (lambda authorization: authorization == f"Bearer {token}")
        self.job_env = dict(job_env or {})
        self.queue_seconds, self.pending_seconds = queue_seconds, pending_seconds
        self.cancel_seconds, self.kill_grace_seconds = cancel_seconds, kill_grace_seconds
        self.validator = SchemaValidator(strict_int64=strict_int64)
        self.faults: list[str] = []
        self.requests: list[tuple[str, str, object, str]] = []
        self.jobs: dict[str, FakeJob] = {}
        self._job_failures: list[tuple[str, int]] = []
        self._lock = threading.RLock()
        self._workdir = tempfile.mkdtemp(prefix="fake-vertex-")
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits for one, and tests start and stop many doubles.
        self._serve = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._serve.start()

    # -- driving edge cases ---------------------------------------------------------------------

    def fail_next_job(self, message: str = QUOTA_MESSAGE, code: int = CODE_RESOURCE_EXHAUSTED):
        """The next job created ends JOB_STATE_FAILED after its QUEUED time, without running, with
        `error` {code, message} (by default the quota refusal real jobs end with)."""
        with self._lock:
            self._job_failures.append((message, code))

    def wait(self, name: str, states=ENDED, timeout: float = 30.0) -> FakeJob:
        """Waits until the job `name` is in one of `states` (or in the one state given); returns it."""
        states = (states,) if isinstance(states, str) else tuple(states)
        deadline = time.monotonic() + timeout
        while True:
            job = self.jobs[name]
            if job.state in states:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} is still {job.state} after {timeout} s (wanted {states})")
            time.sleep(0.02)

    def stop(self):
        """Ends running jobs (their processes are killed), stops the server, removes the work folder."""
        with self._lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            job.cancel_requested.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout=self.cancel_seconds + self.kill_grace_seconds + 10)
            if job.process is not None and job.process.poll() is None:
                self._kill(job.process)
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- requests -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body) -> tuple[int, dict]:
        """Answers one authenticated request: (HTTP status, JSON body)."""
        parsed = urllib.parse.urlsplit(path)
        route, query = urllib.parse.unquote(parsed.path), urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        collection, resource = _COLLECTION.match(route), _RESOURCE.match(route)
        if collection and method == "POST":
            self._check_query(query, set())
            return 200, self._create(collection[1], collection[2], body)
        if collection and method == "GET":
            self._check_query(query, {"filter", "pageSize", "pageToken", "readMask"})
            return 200, self._list(collection[1], collection[2], query)
        if resource and not resource[4] and method == "GET":
            self._check_query(query, set())
            return 200, self._get(route.removeprefix("/v1/"))
        if resource and resource[4] and method == "POST":
            self._check_query(query, set())
            return 200, self._cancel(route.removeprefix("/v1/").removesuffix(":cancel"), body)
        if collection or resource:
            raise ApiError(501, f"{method} {route} is not implemented by this test double.")
        raise ApiError(404, f"The requested URL {route} was not found on this server.")

    def _check_query(self, query: dict, allowed: set[str]):
        for name in query:
            if name not in allowed and name not in _SYSTEM_QUERY_PARAMS:
                raise _invalid(f"Invalid JSON payload received. Unknown name {json.dumps(name)}: Cannot bind query "
                               f"parameter. Field {name!r} could not be found in request message.")

    def _create(self, project: str, region: str, body) -> dict:
        if body is None:
            body = {}
        self.validator.check(body, {"$ref": "GoogleCloudAiplatformV1CustomJob"}, "custom_job")
        problems = custom_job_problems(body)
        if problems:
            raise _problems_error(problems)
        job_id = str(random.randrange(10**18, 2**63))
        name = f"projects/{project}/locations/{region}/customJobs/{job_id}"
        resource = prune_defaults(body, {"$ref": "GoogleCloudAiplatformV1CustomJob"})
        for key, field in _schema("GoogleCloudAiplatformV1CustomJob")["properties"].items():
            if field.get("readOnly"):
                resource.pop(key, None)  # output-only fields sent by a client are ignored
        now = _now()
        resource.update(name=name, state=QUEUED, createTime=now, updateTime=now)
        job = FakeJob(name, project, region, job_id, body, resource)
        with self._lock:
            failure = self._job_failures.pop(0) if self._job_failures else None
            self.jobs[name] = job
            snapshot = json.loads(json.dumps(resource))
        job.thread = threading.Thread(target=self._lifecycle, args=(job, failure, self.queue_seconds,
                                                                    self.pending_seconds), daemon=True)
        job.thread.start()
        return snapshot

    def _get(self, name: str) -> dict:
        with self._lock:
            job = self.jobs.get(name)
            if job is None:
                raise ApiError(404, f'CustomJob "{name}" not found.')
            return json.loads(json.dumps(job.resource))

    def _list(self, project: str, region: str, query: dict) -> dict:
        text = query.get("filter", [""])[0]
        terms = parse_filter(text)
        size_text = query.get("pageSize", ["0"])[0] or "0"
        if not re.fullmatch(r"-?\d+", size_text) or int(size_text) < 0:
            raise _invalid(f"Invalid value at 'page_size' (TYPE_INT32), {json.dumps(size_text)}", "page_size")
        size = int(size_text) or 100
        offset = 0
        token = query.get("pageToken", [""])[0]
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset, token_filter = int(state["offset"]), state["filter"]
            except (ValueError, KeyError, TypeError):
                raise _invalid(f"Invalid page token {json.dumps(token)}.", "page_token") from None
            if token_filter != text:
                raise _invalid("The page token was made for another filter.", "page_token")
        with self._lock:
            matching = [json.loads(json.dumps(job.resource)) for job in self.jobs.values()
                        if job.project == project and job.region == region and filter_matches(terms, job.resource)]
        page = matching[offset:offset + size]
        answer = {}
        if page:
            answer["customJobs"] = page
        if offset + size < len(matching):
            answer["nextPageToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + size, "filter": text}).encode()).decode()
        return answer

    def _cancel(self, name: str, body) -> dict:
        self.validator.check(body or {}, {"$ref": "GoogleCloudAiplatformV1CancelCustomJobRequest"}, "cancel_request")
        with self._lock:
            job = self.jobs.get(name)
            if job is None:
                raise ApiError(404, f'CustomJob "{name}" not found.')
            if job.state in ENDED:
                raise ApiError(400, f"Cannot cancel CustomJob {name} in state {job.state}.",
                               status="FAILED_PRECONDITION")
            if job.state != CANCELLING:
                self._set_state(job, CANCELLING)
            job.cancel_requested.set()
        return {}

    # -- lifecycle ------------------------------------------------------------------------------

    def _set_state(self, job: FakeJob, state: str, **fields):
        with self._lock:
            now = _now()
            job.resource["state"] = state
            job.resource["updateTime"] = now
            if state == RUNNING:
                job.resource["startTime"] = now
            if state in ENDED:
                job.resource["endTime"] = now
            job.resource.update(fields)
            job.states.append(state)

    def _wait_or_cancel(self, job: FakeJob, seconds: float) -> bool:
        """Sleeps `seconds`; True if the job was cancelled meanwhile."""
        return job.cancel_requested.wait(seconds)

    def _finish_cancelled(self, job: FakeJob, message: str = CANCELED_MESSAGE):
        time.sleep(self.cancel_seconds)
        self._set_state(job, CANCELLED, error={"code": CODE_CANCELLED, "message": message})

    def _lifecycle(self, job: FakeJob, failure, queue_seconds: float, pending_seconds: float):
        if self._wait_or_cancel(job, queue_seconds):
            return self._finish_cancelled(job)
        if failure is not None:
            message, code = failure
            return self._set_state(job, FAILED, error={"code": code, "message": message})
        with self._lock:
            if job.cancel_requested.is_set():
                return self._finish_cancelled(job)
            self._set_state(job, PENDING)
        if self._wait_or_cancel(job, pending_seconds):
            return self._finish_cancelled(job)
        with self._lock:
            if job.cancel_requested.is_set():
                return self._finish_cancelled(job)
            self._set_state(job, RUNNING)
        self._run(job)

    def _environment(self, job: FakeJob, container: dict) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.job_env)
        env.update({var["name"]: var.get("value") or "" for var in container.get("env") or []})
        spec = job.body["jobSpec"]
        replicas = [f"workerpool{i}-0:2222" for i, pool in enumerate(spec["workerPoolSpecs"]) if pool]
        env.update({
            "CLOUD_ML_PROJECT_ID": job.project,
            "CLOUD_ML_REGION": job.region,
            "CLOUD_ML_JOB_ID": job.id,
            "CLUSTER_SPEC": json.dumps({
                "cluster": {"worker_pools": [{"index": i, "replicas": [replica]} for i, replica in enumerate(replicas)]},
                "environment": "cloud",
                "task": {"worker_pool_index": 0, "replica_index": 0},
            }),
        })
        prefix = ((spec.get("baseOutputDirectory") or {}).get("outputUriPrefix") or "").rstrip("/")
        if prefix:
            env.update({"AIP_MODEL_DIR": f"{prefix}/model/", "AIP_CHECKPOINT_DIR": f"{prefix}/checkpoints/",
                        "AIP_TENSORBOARD_LOG_DIR": f"{prefix}/logs/"})
        return env

    def _replica_failure(self, job: FakeJob, exit_status: int) -> dict:
        link = ("https://console.cloud.google.com/logs/viewer?project={p}&resource=ml_job%2Fjob_id%2F{j}"
                "&advancedFilter=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%22{j}%22")
        message = (f"The replica workerpool0-0 exited with a non-zero status of {exit_status}. To find out more "
                   f"about why your job exited please check the logs: {link.format(p=job.project, j=job.id)}")
        return {"code": CODE_INVALID_ARGUMENT, "message": message}

    def _run(self, job: FakeJob):
        pool = job.body["jobSpec"]["workerPoolSpecs"][0]
        container = pool.get("containerSpec") or {}
        if not container.get("command"):
            reason = ("pythonPackageSpec" if "pythonPackageSpec" in pool else
                      "a containerSpec without command (the image's ENTRYPOINT)")
            return self._set_state(job, FAILED, error={
                "code": CODE_INVALID_ARGUMENT,
                "message": f"FakeVertex cannot run {reason}: it runs containerSpec.command + args as a local process."})
        workdir = os.path.join(self._workdir, job.id)
        os.makedirs(workdir, exist_ok=True)
        job.log_path = os.path.join(workdir, "log.txt")
        job.argv = list(container["command"]) + list(container.get("args") or [])
        job.env = self._environment(job, container)
        timeout = (job.body["jobSpec"].get("scheduling") or {}).get("timeout")
        deadline = time.monotonic() + duration_seconds(timeout) if timeout else None
        with open(job.log_path, "wb") as log:
            try:
                job.process = subprocess.Popen(job.argv, env=job.env, cwd=workdir, stdout=log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                               start_new_session=True)
            except OSError as error:
                log.write(f"{error}\n".encode())
                log.flush()
                job._log_text = job.log
                return self._set_state(job, FAILED, error=self._replica_failure(job, 127))
        ended_by = None
        while job.process.poll() is None:
            if job.cancel_requested.wait(0.02):
                ended_by = "cancel"
            elif deadline is not None and time.monotonic() >= deadline:
                ended_by = "timeout"
            if ended_by:
                if ended_by == "timeout":
                    self._set_state(job, CANCELLING)
                time.sleep(self.cancel_seconds)
                self._kill(job.process)
                break
        job.process.wait()
        try:  # the container goes with its main process: nothing it started outlives it
            os.killpg(job.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job._log_text = job.log
        if ended_by == "cancel":
            self._set_state(job, CANCELLED, error={"code": CODE_CANCELLED, "message": CANCELED_MESSAGE})
        elif ended_by == "timeout":
            self._set_state(job, CANCELLED,
                            error={"code": CODE_CANCELLED, "message": TIMEOUT_MESSAGE.format(timeout=timeout)})
        elif job.process.returncode == 0:
            self._set_state(job, SUCCEEDED)
        else:
            status = job.process.returncode if job.process.returncode > 0 else 128 - job.process.returncode
            self._set_state(job, FAILED, error=self._replica_failure(job, status))

    def _kill(self, process: subprocess.Popen):
        """SIGTERM to the process group, SIGKILL after the grace period (as a container is stopped)."""
        for sig, wait in ((signal.SIGTERM, self.kill_grace_seconds), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------


def _operation(method: str, path: str) -> tuple[str, str, str]:
    """(project, region, customJobs permission verb) of a request, for PERMISSION_DENIED."""
    route = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    collection, resource = _COLLECTION.match(route), _RESOURCE.match(route)
    match = collection or resource
    project, region = (match[1], match[2]) if match else ("unknown", "unknown")
    if collection:
        verb = "create" if method == "POST" else "list"
    else:
        verb = "cancel" if resource and resource[4] else "get"
    return project, region, verb


def _fault_error(fault: str, method: str, path: str) -> ApiError:
    project, region, verb = _operation(method, path)
    if fault == "429":
        return ApiError(429, "Quota exceeded for quota metric 'Resource management (CRUD) requests' and limit "
                             "'Resource management (CRUD) requests per minute per region' of service "
                             f"'aiplatform.googleapis.com' for consumer 'project_number:{project}'.")
    if fault == "503":
        return ApiError(503, "The service is currently unavailable.")
    if fault == "401":
        return ApiError(401, f"Request had invalid authentication credentials. {_AUTH_HELP}")
    if fault == "403":
        return ApiError(403, f"Permission 'aiplatform.customJobs.{verb}' denied on resource "
                             f"'//aiplatform.googleapis.com/projects/{project}/locations/{region}' (or it may not exist).")
    raise ValueError(f"unknown fault {fault!r}")


def _handler_for(vertex: FakeVertex):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self):
            raw = self._read_body()
            authorization = self.headers.get("Authorization", "")
            body, body_error = None, None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as error:
                    body, body_error = raw.decode("utf-8", "replace"), error
            with vertex._lock:
                vertex.requests.append((self.command, self.path, body, authorization))
                fault = vertex.faults.pop(0) if vertex.faults else None
            if fault == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            try:
                if fault:
                    raise _fault_error(fault, self.command, self.path)
                if not vertex.check_auth(authorization):
                    problem = "had invalid authentication credentials" if authorization else \
                        "is missing required authentication credential"
                    raise ApiError(401, f"Request {problem}. {_AUTH_HELP}")
                if body_error is not None:
                    raise _invalid(f"Invalid JSON payload received. {body_error}")
                status, answer = vertex.handle(self.command, self.path, body)
            except ApiError as error:
                status, answer = error.http_status, error.body()
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict):
            data = json.dumps(answer, indent=2).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler
