"""The Jupyter server extension: the REST API of SPEC.md under ``{base_url}notebook-executor/api/v1/``,
the in-process scheduler and dispatcher, and live updates on the server's event bus.
Configured under ``c.NotebookExecutor`` (see ``jupyter server --help-all``)."""

from __future__ import annotations

import asyncio
import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Integer, List, Unicode, default

from .server import events
from .server.handlers import routes
from .errors import NotebookExecutorError
from .server.service import RestService, UnavailableService


class NotebookExecutor(ExtensionApp):
    name = "notebook_executor"
    description = "Run notebooks in the background, once or on a schedule"
    load_other_extensions = True

    store_url = Unicode("", config=True, help="The state store: a sqlite:// path or postgresql:// URL (default: "
                        "NOTEBOOK_EXECUTOR_STORE, else {jupyter_data_dir}/notebook_executor/store.sqlite).")
    default_backend = Unicode("local", config=True, help="The backend of submissions that name none.")
    concurrency = Integer(0, config=True, help="Local executions running at once (0: the number of cores).")
    warm_kernels = Dict(default_value=None, allow_none=True, config=True, help="Warm kernels kept per kernelspec, "
                        "{name: count}: a submission's first cell runs without a kernel start (default: one of "
                        "the default kernel's, ipykernel only; {} turns the pool off).")
    warm_idle_seconds = Float(1800.0, config=True, help="Seconds without a local submission after which the warm "
                              "pool empties (it fills again at the next submission or near a schedule's slot).")
    output_location = Unicode("", config=True, help="Where results go when a submission names no output_location "
                              "(default: {jupyter_data_dir}/notebook_executor/outputs/).")
    # The Vertex AI backend (empty: NOTEBOOK_EXECUTOR_VERTEX_* or the defaults; empty lists
    # offer Vertex's whole catalogue).
    vertex_project = Unicode("", config=True, help="Google Cloud project of the Vertex AI jobs (default: "
                             "GOOGLE_CLOUD_PROJECT, the credentials', the metadata server's).")
    vertex_regions = List(Unicode(), config=True, help="Regions offered for Vertex AI jobs.")
    vertex_default_region = Unicode("", config=True, help="The region of jobs that name none (default: the first "
                                    "of vertex_regions, else us-central1).")
    vertex_machine_types = List(Unicode(), config=True, help="Machine types offered for Vertex AI jobs.")
    vertex_accelerator_types = List(Unicode(), config=True, help="Accelerator types offered for Vertex AI jobs.")
    vertex_container_images = List(Unicode(), config=True, help="Container images (with notebook-executor "
                                   "installed) offered as environments; the first is the default.")
    vertex_output_location = Unicode("", config=True, help="gs:// prefix where Vertex AI results go by default.")
    vertex_service_account = Unicode("", config=True, help="Service account of the jobs (default: Vertex AI "
                                     "Training's own).")
    vertex_network = Unicode("", config=True, help="VPC network the jobs join (projects/N/global/networks/NAME).")
    vertex_endpoint = Unicode("", config=True, help="Scheme and host of the Vertex AI API ({region} is replaced; "
                              "default: https://{region}-aiplatform.googleapis.com).")
    # The Ray backend (empty: RAY_ADDRESS and NOTEBOOK_EXECUTOR_RAY_*; see the README's "Ray").
    ray_address = Unicode("", config=True, help="The Ray cluster's dashboard, where its Jobs API is (default: "
                          "RAY_ADDRESS), e.g. http://127.0.0.1:8265.")
    ray_machine_types = Dict(config=True, help="Resource shapes offered as machine types, in order (the first is "
                             "the default): {name: {num_cpus, num_gpus, memory ('16GiB' or bytes), resources "
                             "({custom: amount}), description}}.")
    ray_output_location = Unicode("", config=True, help="Where Ray results go by default: a gs:// prefix, or a "
                                  "folder the cluster's nodes mount at the same path.")
    ray_executable = Unicode("", config=True, help="The program a job's entrypoint runs (default: notebook-executor "
                             "on the nodes' PATH).")
    ray_runtime_env = Dict(config=True, help="Ray's runtime_env of every job: env_vars, pip, working_dir...")
    ray_unreachable_timeout = Float(0.0, config=True, help="Seconds a Ray head may stay unreachable before its "
                                    "running executions end FAILED (0: NOTEBOOK_EXECUTOR_RAY_UNREACHABLE_TIMEOUT, "
                                    "else 60).")
    retention_days = Float(0.0, config=True, help="Delete finished executions (and outputs) older than this many "
                           "days, checked hourly (0: keep them).")
    keep_per_schedule = Integer(0, config=True, help="Keep only the newest N finished executions of each schedule "
                                "(0: keep all).")
    run_scheduler = Bool(True, config=True, help="Fire schedules and dispatch queued work in this server (safe "
                         "alongside `notebook-executor serve` on the same store: each slot fires once).")
    share_lifetime_seconds = Float(7 * 86400.0, config=True, help="The longest (and default) life of a share link.")
    events_interval = Float(0.25, config=True, help="Seconds between reads of the store's change feed (live updates).")

    @default("output_location")
    def _default_output_location(self):
        return os.environ.get("NOTEBOOK_EXECUTOR_OUTPUTS", "")

    def initialize_settings(self):
        self.scheduler = None
        self._retention = None
        self.watcher = None
        self.serverapp.event_logger.register_event_schema(events.SCHEMA_PATH)
        try:
            self.service = RestService(
                store_url=self.store_url or None,
                root_dir=self.serverapp.root_dir,
                concurrency=self.concurrency or None,
                output_dir=self.output_location or None,
                backends=self.backends_config(),
                default_backend=self.default_backend,
                share_lifetime_seconds=self.share_lifetime_seconds,
            )
        except NotebookExecutorError as error:  # the store, or a setting
            # The server still starts (JupyterLab works); our routes answer 503 saying why.
            self.log.error("notebook_executor: the store cannot be used: %s. Executions and schedules are "
                           "unavailable until it is fixed and the server restarted.", error)
            self.service = UnavailableService(error)
            return
        self.watcher = events.ChangeWatcher(self.service, self.serverapp.event_logger, self.events_interval, self.log)
        self.log.info("notebook_executor: store %s, scheduler %s", self.service.executor.store_url,
                      "on" if self.run_scheduler else "off")

    def initialize_handlers(self):
        self.handlers.extend(routes())

    async def _start_jupyter_server_extension(self, serverapp):
        if self.watcher is None:  # no store: nothing runs
            return
        self.watcher.start()
        if self.run_scheduler:
            self.scheduler = self.service.core.start_scheduler(False)
        if self.retention_days > 0 or self.keep_per_schedule > 0:
            self._retention = asyncio.get_running_loop().create_task(self._retain())

    async def stop_extension(self):
        if self.watcher is not None:
            await self.watcher.stop()
        if self._retention:
            self._retention.cancel()
            self._retention = None
        if self.scheduler is not None:
            scheduler, self.scheduler = self.scheduler, None
            await asyncio.to_thread(scheduler.stop, 10.0)

    async def _retain(self):
        while True:
            try:
                await asyncio.to_thread(
                    self.service.executor._core.purge, self.retention_days or None, self.keep_per_schedule or None)
            except Exception:
                self.log.warning("notebook_executor: retention failed", exc_info=True)
            await asyncio.sleep(3600)

    def backends_config(self) -> dict:
        """The backends' settings, as the core takes them."""
        vertex = {"project": self.vertex_project, "regions": list(self.vertex_regions),
                  "default_region": self.vertex_default_region, "machine_types": list(self.vertex_machine_types),
                  "accelerator_types": list(self.vertex_accelerator_types),
                  "container_images": list(self.vertex_container_images),
                  "output_location": self.vertex_output_location, "service_account": self.vertex_service_account,
                  "network": self.vertex_network, "endpoint": self.vertex_endpoint}
        ray = {"address": self.ray_address, "machine_types": dict(self.ray_machine_types),
               "output_location": self.ray_output_location, "executable": self.ray_executable,
               "runtime_env": dict(self.ray_runtime_env), "unreachable_timeout_seconds": self.ray_unreachable_timeout}
        warm_kernels = self.warm_kernels
        if warm_kernels is None:
            warm_kernels = {self.serverapp.kernel_manager.default_kernel_name: 1}
        local = {"warm_kernels": dict(warm_kernels), "warm_idle_seconds": self.warm_idle_seconds}
        return {"local": local, "vertex": vertex, "ray": ray}

    async def warm_pools(self) -> dict:
        """What the backends keep ready (the local warm pool: kernels kept, waiting, their memory)."""
        import json

        return json.loads(await self.service.core.warm_pools_async())

    def client_config(self) -> dict:
        """What the submit dialog needs."""
        import json

        backends = json.loads(self.service.core.backends())
        remote = [b for b in backends if b["remote"]]
        return {
            "backends": backends,
            "default_backend": self.default_backend,
            # The first remote backend's, for clients that show one list (each backend has its own).
            "machine_types": remote[0]["machine_types"] if remote else [],
            "accelerator_types": remote[0]["accelerator_types"] if remote else [],
            "regions": remote[0]["regions"] if remote else [],
            "container_images": sorted({i for b in backends for i in b["container_images"]}),
            "default_kernel_name": self.serverapp.kernel_manager.default_kernel_name,
            # What an empty output location means (the dialog shows it as the placeholder).
            "default_output_location": self.output_location or self.service.core.default_output_dir(),
            "default_time_zone": "UTC",
            "missed_runs": ["skip", "run_once", "run_all"],
            "share_lifetime_seconds": self.share_lifetime_seconds,
            "imported_notebooks_dir": "imported_notebook_jobs",
        }


main = launch_new_instance = NotebookExecutor.launch_instance
