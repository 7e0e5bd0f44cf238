"""The server's service object: REST requests in plain data, over the Rust core. Handlers
parse and write; this resolves paths, fills defaults and shapes records; the core does
the work (awaitables on its own runtime: the server's event loop never blocks)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from typing import Any

from .. import _core
from ..executor import _SPEC_FIELDS, _SCHEDULE_FIELDS, AsyncExecutor, Execution, Schedule, job_links
from .. import parse_parameters
from .errors import BadRequest
from .paths import RootDir

# What a REST submission may set; the rest is the server's.
SUBMISSION_FIELDS = frozenset(_SPEC_FIELDS) - {"schedule_id", "scheduled_time"}
SCHEDULE_FIELDS = frozenset(_SCHEDULE_FIELDS) | {"execution_template"}
# A change may also pause or resume.
SCHEDULE_CHANGE_FIELDS = SCHEDULE_FIELDS | {"state"}
MAX_PAGE_SIZE = 1000
# The ways to share a result, with the fields each takes.
SHARE_KINDS = {
    "link": frozenset({"kind", "lifetime_seconds"}),
    "signed_url": frozenset({"kind", "lifetime_seconds", "include_notebook"}),
    "bucket_access": frozenset({"kind", "member"}),
}
SHARE_FIELDS = frozenset().union(*SHARE_KINDS.values())
SIGNED_URL_MAX_SECONDS = 7 * 86400  # V4 signatures' limit


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _object(body: Any, what: str, known: frozenset[str] | None = None) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest(f"the {what} must be a JSON object")
    unknown = set(body) - known if known is not None else set()
    if unknown:
        raise BadRequest(f"unknown fields in the {what}: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    return body


def _parameters(value: Any) -> Any:
    """An object, or the dialog's ``optimizer="SGD",learning_rate=0.01`` text."""
    if isinstance(value, str):
        return parse_parameters(value) if value.strip() else {}
    if value is not None and not isinstance(value, dict):
        raise BadRequest("parameters: give an object or a NAME=VALUE,... string", field="parameters")
    return value


def page_size_of(text: str | None) -> int:
    if text in (None, ""):
        return 50
    try:
        size = int(text)
    except ValueError:
        raise BadRequest(f"page_size: {text!r} is not a number", field="page_size") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size: give 1 to {MAX_PAGE_SIZE}", field="page_size")
    return size


class RestService:
    def __init__(self, *, store_url: str | None, root_dir: str, concurrency: int | None, output_dir: str | None,
                 default_backend: str, share_lifetime_seconds: float, backends: dict | None = None):
        self.executor = AsyncExecutor(store_url, concurrency=concurrency, output_dir=output_dir, backends=backends)
        self._raw = self.executor._core
        self.core = _core.ServerCore(self._raw)
        self.root = RootDir(root_dir)
        self.default_backend = default_backend
        self.share_lifetime_seconds = share_lifetime_seconds

    # Records as the REST API shows them: paths in the root are relative to it.

    def execution_view(self, execution: Execution | dict) -> dict:
        out = execution if isinstance(execution, dict) else execution.to_dict()
        out["input_notebook"] = self.root.relative(out.get("input_notebook", ""))
        out["links"] = job_links(out.get("backend", ""), out.get("backend_job_id", ""))
        return out

    def schedule_view(self, schedule: Schedule | dict) -> dict:
        out = schedule if isinstance(schedule, dict) else schedule.to_dict()
        template = dict(out.get("execution_template") or {})
        if "input_notebook" in template:
            template["input_notebook"] = self.root.relative(template["input_notebook"])
        out["execution_template"] = template
        return out

    def _execution_fields(self, body: Any, what: str, *, partial: bool) -> dict:
        fields = dict(_object(body, what, SUBMISSION_FIELDS))
        if "input_notebook" in fields:
            fields["input_notebook"] = self.location(fields["input_notebook"], "input_notebook", self.root.notebook)
        elif not partial:
            raise BadRequest("input_notebook: required (a notebook path relative to the server's root)",
                             field="input_notebook")
        if "parameters" in fields:
            fields["parameters"] = _parameters(fields["parameters"])
        if fields.get("output_location"):
            fields["output_location"] = self.location(fields["output_location"], "output_location", self.root.folder)
        if not partial and fields.get("backend") in (None, ""):
            fields["backend"] = self.default_backend
        return {k: v for k, v in fields.items() if v is not None}

    def location(self, value: Any, field: str, local) -> Any:
        """A URI as it is (the core takes ``gs://`` and refuses unknown schemes); a path or
        ``file://`` URI must be in the root (``local`` resolves it)."""
        if isinstance(value, str) and "://" in value and not value.startswith("file://"):
            return value
        if isinstance(value, str) and value.startswith("file://"):
            value = _file_uri_path(value, field)
        return local(value, field)

    # Executions

    async def submit(self, body: Any) -> dict:
        fields = self._execution_fields(body, "submission", partial=False)
        input_path = fields.pop("input_notebook")
        return self.execution_view(await self.executor.submit(input_path, **fields))

    # Listing and getting are the hot routes: the core's JSON records go out as they are
    # (the same fields as Execution.to_dict), without building Python objects.

    async def list(self, state: str | None, schedule_id: str | None, page_size: int, page_token: str | None,
                   region: str | None = None) -> dict:
        items, token = await self._raw.list(state or None, schedule_id or None, page_size, page_token or None,
                                            region or None, blocking=False)
        return {"executions": [self.execution_view(e) for e in json.loads(items)], "next_page_token": token}

    async def get(self, id: str) -> dict:
        return self.execution_view(json.loads(await self._raw.get(id, blocking=False)))

    async def cancel(self, id: str) -> dict:
        return self.execution_view(await self.executor.cancel(id))

    async def delete(self, id: str) -> None:
        await self.executor.delete(id)

    async def logs(self, id: str) -> dict:
        """``{"source", "text"}``: what the run printed so far (see ``Executor.logs``)."""
        return json.loads(await self._raw.logs(id, blocking=False))

    async def result_html(self, id: str) -> tuple[str, bool]:
        """(page, whether the run has ended)."""
        html = await self.core.result_html_async(id, True)
        execution = await self.executor.get(id)
        return html, execution.done

    async def output_notebook(self, id: str) -> tuple[bytes, str]:
        """(the executed notebook's bytes, a file name for the download)."""
        return await self.core.output_notebook_async(id)

    async def import_result(self, id: str, body: Any) -> dict:
        dest = _object(body, "import request", frozenset({"dest_dir"})).get("dest_dir", None)
        if dest is None:
            dest = "imported_notebook_jobs"
        if not isinstance(dest, str) or not dest:
            raise BadRequest("dest_dir: give a folder path relative to the server's root", field="dest_dir")
        path = await self.executor.import_result(id, self.location(dest, "dest_dir", self.root.folder))
        return {"path": self.root.relative(path)}

    # Cloud Storage buckets (the dialog's "select a bucket, or create one")

    async def list_buckets(self) -> dict:
        return {"buckets": json.loads(await self.core.list_buckets_async())}

    async def create_bucket(self, body: Any) -> dict:
        body = _object(body, "bucket", frozenset({"name", "location"}))
        name, location = body.get("name"), body.get("location") or ""
        if not isinstance(name, str) or not name:
            raise BadRequest("name: required (the new bucket's name)", field="name")
        if not isinstance(location, str):
            raise BadRequest("location: give a region name, e.g. us-central1", field="location")
        return json.loads(await self.core.create_bucket_async(name, location))

    # Sharing a result: our read-only link (the secret goes to the caller once; the store
    # keeps its hash), or for a result in Cloud Storage, Cloud Storage's own ways: a signed
    # URL, or read access to the whole bucket.

    async def share(self, id: str, body: Any, link_base: str) -> dict:
        body = _object(body, "share request", SHARE_FIELDS)
        kind = body.get("kind", "link")
        if not isinstance(kind, str) or kind not in SHARE_KINDS:
            raise BadRequest(f"kind: give {', '.join(SHARE_KINDS)}", field="kind")
        misplaced = sorted(set(body) - SHARE_KINDS[kind])
        if misplaced:
            raise BadRequest(f"{misplaced[0]}: not for a share of kind {kind!r}", field=misplaced[0])
        if kind == "signed_url":
            return await self._signed_url(id, body)
        if kind == "bucket_access":
            return await self._bucket_access(id, body)
        lifetime = self._lifetime(body, self.share_lifetime_seconds)
        token = secrets.token_urlsafe(32)  # 256 bits
        share = json.loads(await self.core.create_share_async(id, token_hash(token), float(lifetime)))
        share["url"] = link_base + token
        share["kind"] = kind
        return share

    def _lifetime(self, body: dict, longest: float, whole: bool = False) -> float:
        lifetime = body.get("lifetime_seconds", longest)
        if (isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or not 0 < lifetime <= longest
                or (whole and lifetime != int(lifetime))):
            what = "a whole number of seconds" if whole else "a number of seconds"
            raise BadRequest(f"lifetime_seconds: give {what} up to {longest:g}", field="lifetime_seconds")
        return lifetime

    async def _signed_url(self, id: str, body: dict) -> dict:
        # Cloud Storage signs for 7 days at most; the server's limit on links applies too.
        longest = float(min(self.share_lifetime_seconds, SIGNED_URL_MAX_SECONDS))
        if longest < 1:
            raise BadRequest("kind: this server's share_lifetime_seconds is under the 1 s a signed URL needs",
                             field="kind")
        lifetime = int(self._lifetime(body, float(int(longest)), whole=True))
        include_notebook = body.get("include_notebook", False)
        if not isinstance(include_notebook, bool):
            raise BadRequest("include_notebook: true or false", field="include_notebook")
        answer = json.loads(await self.core.signed_url(id, lifetime, include_notebook))
        return {"kind": "signed_url", **answer}

    async def _bucket_access(self, id: str, body: dict) -> dict:
        member = body.get("member")
        if not isinstance(member, str) or not member.strip():
            raise BadRequest("member: required (the email of the person to grant access to, or user:, group:, "
                             "serviceAccount:, domain:)", field="member")
        return {"kind": "bucket_access", **json.loads(await self.core.grant_bucket_access(id, member))}

    async def shares(self, id: str) -> dict:
        return {"shares": json.loads(await self.core.list_shares_async(id))}

    async def revoke_share(self, id: str, share_id: str) -> None:
        await self.core.revoke_share_async(id, share_id)

    async def shared_result(self, token: str) -> str:
        execution = json.loads(await self.core.shared_execution_async(token_hash(token)))
        return await self.core.result_html_async(execution["id"], False)

    # Schedules

    async def create_schedule(self, body: Any) -> dict:
        body = _object(body, "schedule", SCHEDULE_FIELDS)
        if not isinstance(body.get("cron_schedule"), str):
            raise BadRequest("cron_schedule: required (5 fields, e.g. '0 9 * * 1-5')", field="cron_schedule")
        template = self._execution_fields(body.get("execution_template"), "execution_template", partial=False)
        input_path = template.pop("input_notebook")
        # One name for the schedule and its runs: the schedule's, else the template's.
        display_name = body.get("display_name") or template.pop("display_name", None)
        template.pop("display_name", None)
        schedule = await self.executor.create_schedule(
            input_path, body["cron_schedule"], body.get("time_zone") or "UTC", display_name=display_name,
            missed_runs=body.get("missed_runs") or "run_once", **template)
        return self.schedule_view(schedule)

    async def list_schedules(self, state: str | None, page_size: int, page_token: str | None) -> dict:
        items, token = await self._raw.list_schedules(state or None, page_size, page_token or None, blocking=False)
        return {"schedules": [self.schedule_view(s) for s in json.loads(items)], "next_page_token": token}

    async def get_schedule(self, id: str) -> dict:
        return self.schedule_view(await self.executor.get_schedule(id))

    async def update_schedule(self, id: str, body: Any) -> dict:
        """Schedule fields as given; ``execution_template`` fields merge into the template;
        ``state`` pauses or resumes."""
        body = dict(_object(body, "schedule change", SCHEDULE_CHANGE_FIELDS))
        state = body.pop("state", None)
        if state not in (None, "ENABLED", "PAUSED"):
            raise BadRequest("state: ENABLED or PAUSED", field="state")
        changes = {k: v for k, v in body.items() if k != "execution_template"}
        template = self._execution_fields(body.get("execution_template"), "execution_template", partial=True)
        # The runs are named after the schedule: a template name does not rename it.
        template.pop("display_name", None)
        changes.update(template)
        schedule = await self.executor.update_schedule(id, **changes) if changes else await self.executor.get_schedule(id)
        if state == "PAUSED" and schedule.state != "PAUSED":
            schedule = await self.executor.pause_schedule(id)
        elif state == "ENABLED" and schedule.state != "ENABLED":
            schedule = await self.executor.resume_schedule(id)
        return self.schedule_view(schedule)

    async def delete_schedule(self, id: str) -> None:
        await self.executor.delete_schedule(id)

    async def run_schedule_now(self, id: str, body: Any) -> dict:
        parameters = _parameters(_object(body, "run request", frozenset({"parameters"})).get("parameters"))
        return self.execution_view(await self.executor.run_schedule_now(id, parameters=parameters))

    # The change feed

    async def changes_since(self, since: str, limit: int) -> tuple[list[dict], list[dict], list[dict]]:
        """(executions, schedules, deletions [{kind, id, delete_time}]) since ``since``."""
        executions, schedules, deletions = await self.core.changes_since_async(since, limit)
        return ([self.execution_view(e) for e in json.loads(executions)],
                [self.schedule_view(s) for s in json.loads(schedules)], json.loads(deletions))


class UnavailableService:
    """Stands for the service when the store could not be opened: every call raises the
    store's error (REST 503 ``store_unavailable``, with the reason)."""

    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, name):
        if name in ("core", "executor", "root"):  # the objects behind the methods
            raise self.error

        def unavailable(*args, **kwargs):
            raise self.error

        return unavailable


def _file_uri_path(uri: str, field: str) -> str:
    """The path of a ``file://`` URI as the core reads one (``src/storage/mod.rs``, RFC 8089: no
    host or ``localhost``, the path percent-encoded), to be checked against the root before
    the core sees it."""
    from urllib.parse import unquote_to_bytes

    path = uri.removeprefix("file://")
    path = path.removeprefix("localhost")
    if not path.startswith("/"):
        raise BadRequest(f"{field}: {uri!r}: a file:// URI needs an absolute path on this machine (file:///...)",
                         field=field)
    return os.fsdecode(unquote_to_bytes(path))
