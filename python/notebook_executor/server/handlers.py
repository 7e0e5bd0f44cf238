"""REST handlers: parse the request, call the service, write the answer. Errors are
turned into responses in one place (``BaseHandler.write_error``, via ``errors.classify``).
Every route needs Jupyter's auth but the share link's page, which is public by design."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from .. import schedule_preview, notebook_parameters
from .errors import BadRequest, TooLarge, classify
from .service import page_size_of

AUTH_RESOURCE = "notebook_executor"
# Request bodies: what no form of ours comes near (the fields have their own caps in the core).
MAX_BODY = 8 * 1024 * 1024
MAX_DEPTH = 64
API = "notebook-executor/api/v1"
SHARED = "notebook-executor/shared"
ID = r"([0-9a-zA-Z_-]+)"
# Results are other people's code: no script of theirs may act as the viewer in
# JupyterLab's origin (an opaque origin: no cookies, no API calls), but plots still draw.
RESULT_CSP = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox allow-downloads; frame-ancestors 'self'"


class ErrorsMixin:
    """Every error of our routes as ``{"error": {"code", "message"}}``, status by kind."""

    def write_error(self, status_code: int, **kwargs) -> None:
        exc_info = kwargs.get("exc_info")
        error = classify(exc_info[1]) if exc_info else None
        if error is None:
            error = {"status": status_code, "code": "internal" if status_code >= 500 else "error"}
        # Jupyter's auth raises bare 403s: say at least what the status says.
        error["message"] = error.get("message") or self._reason
        self.set_status(error.pop("status"))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error}))

    def log_exception(self, typ, value, tb) -> None:
        if classify(value) is None:  # expected errors are answers, not server faults
            super().log_exception(typ, value, tb)


class BaseHandler(ErrorsMixin, ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def service(self):
        return self.extensionapp.service

    def write_json(self, body, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, allow_nan=False, default=str))

    def body(self):
        """The request's JSON: at most MAX_BODY bytes (413), nested at most MAX_DEPTH deep,
        its strings valid Unicode (a lone surrogate can be neither a path nor a value)."""
        if not self.request.body:
            return None
        if len(self.request.body) > MAX_BODY:
            raise TooLarge(f"the body is larger than {MAX_BODY // 1024 // 1024} MiB", field="body")
        try:
            value = json.loads(self.request.body)
        except RecursionError:
            raise BadRequest(f"the body is nested more than {MAX_DEPTH} deep") from None
        except ValueError as e:
            raise BadRequest(f"the body is not JSON: {e}") from None
        _check_json(value, "", 0)
        return value


def _check_json(value, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BadRequest(f"the body is nested more than {MAX_DEPTH} deep", field=where.split(".")[0] or None)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{where or 'body'}: not valid Unicode text (a lone surrogate)",
                             field=where.split(".")[0] or None) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, where or key, depth + 1)
            _check_json(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where, depth + 1)


class FileHandler(ErrorsMixin, ExtensionHandlerMixin, JupyterHandler):
    """Routes a browser tab opens (a page, a download): not JSON, and an unauthenticated
    visit goes to the login page."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self):
        return self.extensionapp.service


class ExecutionsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q = self.get_query_argument
        self.write_json(await self.service.list(q("state", None), q("schedule_id", None), page_size_of(q("page_size", None)),
                                                q("page_token", None), q("region", None)))

    @web.authenticated
    @authorized
    async def post(self):
        self.write_json(await self.service.submit(self.body()), 201)


class ExecutionHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self, id):
        self.write_json(await self.service.get(id))

    @web.authenticated
    @authorized
    async def delete(self, id):
        await self.service.delete(id)
        self.set_status(204)
        self.finish()


class CancelHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self, id):
        self.write_json(await self.service.cancel(id))


class LogsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self, id):
        self.write_json(await self.service.logs(id))


def write_result_page(handler: JupyterHandler, html: str, done: bool) -> None:
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("Cache-Control", "no-store")
    if not done:
        handler.set_header("Refresh", "5")  # a running result's page follows the run
    handler.finish(html)


class ResultHandler(FileHandler):
    @property
    def content_security_policy(self) -> str:
        return RESULT_CSP

    @web.authenticated
    @authorized
    async def get(self, id):
        html, done = await self.service.result_html(id)
        write_result_page(self, html, done)


class NotebookDownloadHandler(FileHandler):
    @web.authenticated
    @authorized
    async def get(self, id):
        # Read through the core's storage layer (a local file or a Cloud Storage object),
        # which the run replaces whole: one read gives one whole version.
        data, name = await self.service.output_notebook(id)
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", content_disposition(name))
        self.finish(data)


def content_disposition(name: str) -> str:
    """An attachment's header for any file name (RFC 6266): an ASCII fallback without quotes,
    backslashes or control characters, and the exact name as UTF-8 in `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "notebook.ipynb"
    exact = urllib.parse.quote(name.encode("utf-8", "surrogatepass"), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


class ImportHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self, id):
        self.write_json(await self.service.import_result(id, self.body()))


class ShareHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self, id):
        base = f"{self.request.protocol}://{self.request.host}{url_path_join(self.base_url, SHARED)}/"
        self.write_json(await self.service.share(id, self.body(), base), 201)


class SharesHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self, id):
        self.write_json(await self.service.shares(id))


class ShareItemHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def delete(self, id, share_id):
        await self.service.revoke_share(id, share_id)
        self.set_status(204)
        self.finish()


class SharedResultHandler(ExtensionHandlerMixin, JupyterHandler):
    """The public page of a share link: that one result and nothing else of the server."""

    @property
    def content_security_policy(self) -> str:
        return RESULT_CSP

    @allow_unauthenticated
    async def get(self, token):
        try:
            html = await self.extensionapp.service.shared_result(token)
        except Exception as e:
            if classify(e) is None:
                raise
            self.set_status(404)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("This link is not valid: it has expired, was revoked, or never existed.\n")
            return
        self.set_header("X-Robots-Tag", "noindex")
        write_result_page(self, html, True)


class SchedulesHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q = self.get_query_argument
        self.write_json(await self.service.list_schedules(q("state", None), page_size_of(q("page_size", None)),
                                                          q("page_token", None)))

    @web.authenticated
    @authorized
    async def post(self):
        self.write_json(await self.service.create_schedule(self.body()), 201)


class ScheduleHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self, id):
        self.write_json(await self.service.get_schedule(id))

    @web.authenticated
    @authorized
    async def patch(self, id):
        self.write_json(await self.service.update_schedule(id, self.body()))

    @web.authenticated
    @authorized
    async def delete(self, id):
        await self.service.delete_schedule(id)
        self.set_status(204)
        self.finish()


class RunScheduleHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self, id):
        self.write_json(await self.service.run_schedule_now(id, self.body()), 201)


class SchedulePreviewHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        cron = self.get_query_argument("cron_schedule", None)
        if not cron:
            raise BadRequest("cron_schedule: required", field="cron_schedule")
        zone = self.get_query_argument("time_zone", None) or "UTC"
        count = self.get_query_argument("count", "5")
        if not (count.isascii() and count.isdigit()) or not 1 <= int(count) <= 50:
            raise BadRequest("count: give 1 to 50", field="count")
        self.write_json({"next_run_times": await asyncio.to_thread(schedule_preview, cron, zone, int(count))})


class NotebookParametersHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        path = self.service.location(self.get_query_argument("path", None), "path", self.service.root.notebook)
        self.write_json({"parameters": await asyncio.to_thread(notebook_parameters, path)})


class EnvironmentsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
        kernels = [{"name": name, "display_name": s["spec"].get("display_name", name), "language": s["spec"].get("language", "")}
                   for name, s in sorted(specs.items())]
        self.write_json({"kernels": kernels, "container_images": self.extensionapp.client_config()["container_images"]})


class BucketsHandler(BaseHandler):
    """The project's Cloud Storage buckets, for the submit dialog (list, create and select)."""

    @web.authenticated
    @authorized
    async def get(self):
        self.write_json(await self.service.list_buckets())

    @web.authenticated
    @authorized
    async def post(self):
        self.write_json(await self.service.create_bucket(self.body()), 201)


class ConfigHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self):
        config = self.extensionapp.client_config()
        config["warm_pools"] = await self.extensionapp.warm_pools()
        self.write_json(config)


def routes() -> list[tuple[str, type]]:
    return [
        (rf"{API}/executions", ExecutionsHandler),
        (rf"{API}/executions/{ID}", ExecutionHandler),
        (rf"{API}/executions/{ID}/cancel", CancelHandler),
        (rf"{API}/executions/{ID}/logs", LogsHandler),
        (rf"{API}/executions/{ID}/result", ResultHandler),
        (rf"{API}/executions/{ID}/notebook", NotebookDownloadHandler),
        (rf"{API}/executions/{ID}/import", ImportHandler),
        (rf"{API}/executions/{ID}/share", ShareHandler),
        (rf"{API}/executions/{ID}/shares", SharesHandler),
        (rf"{API}/executions/{ID}/shares/{ID}", ShareItemHandler),
        (rf"{API}/schedules", SchedulesHandler),
        (rf"{API}/schedules/preview", SchedulePreviewHandler),
        (rf"{API}/schedules/{ID}", ScheduleHandler),
        (rf"{API}/schedules/{ID}/run", RunScheduleHandler),
        (rf"{API}/notebooks/parameters", NotebookParametersHandler),
        (rf"{API}/environments", EnvironmentsHandler),
        (rf"{API}/config", ConfigHandler),
        (rf"{API}/storage/buckets", BucketsHandler),
        (rf"{SHARED}/([A-Za-z0-9_-]{{20,}})", SharedResultHandler),
    ]
