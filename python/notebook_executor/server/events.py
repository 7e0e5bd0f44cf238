"""Live updates: a watcher reads the store's change feed (rows by ``update_time``) a few
times a second and emits what changed on the server's event bus, which JupyterLab streams
to the frontend (``/api/events/subscribe``). Reading the store, not hooking our own calls,
is what makes changes by runners, ``notebook-executor serve`` and the CLI show too,
deletions included (the store keeps tombstones for a day)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pathlib

from ..errors import StoreError

SCHEMA_ID = "https://events.jupyter.org/notebook_executor/change/v1"
SCHEMA_PATH = pathlib.Path(__file__).parent / "event_schemas" / "change" / "v1.yaml"

# A row is written with its update_time before its transaction commits: re-read this far
# back so that a late commit is not missed (rows seen already are not sent again).
OVERLAP = dt.timedelta(seconds=2)
BATCH = 5000
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _FORMAT) if "." in text else dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _text(at: dt.datetime) -> str:
    return at.strftime(_FORMAT)


class ChangeWatcher:
    def __init__(self, service, event_logger, interval: float, log: logging.Logger):
        self.service = service
        self.event_logger = event_logger
        self.interval = interval
        self.log = log
        self.cursor = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        # (kind, id) -> (what was sent of it, the cursor then): a row read again in the
        # overlap window is sent again only if it changed.
        self.sent: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def emit(self, *, executions=(), schedules=(), deleted_executions=(), deleted_schedules=()) -> None:
        self.event_logger.emit(schema_id=SCHEMA_ID, data={
            "executions": list(executions), "schedules": list(schedules),
            "deleted_executions": list(deleted_executions), "deleted_schedules": list(deleted_schedules)})

    async def _run(self) -> None:
        failing = None
        while True:
            try:
                await self.check()
                if failing is not None:
                    self.log.warning("notebook_executor: the store answers again")
                failing = None
            except Exception as error:  # a store hiccup must not end live updates
                # Said loudly once per cause, not four times a second.
                if str(error) != failing:
                    self.log.error("notebook_executor: reading the store failed: %s", error,
                                   exc_info=not isinstance(error, StoreError))
                failing = str(error)
            await asyncio.sleep(self.interval)

    def _new(self, kind: str, records: list[dict]) -> list[dict]:
        fresh = []
        for record in records:
            key = (kind, record["id"])
            # A schedule is also re-read when one of its executions changed: its next run
            # and latest result may have moved while its update_time did not.
            fingerprint = record["update_time"] if kind == "execution" else \
                f'{record["update_time"]}|{record.get("next_run_time")}|{record.get("last_execution")}'
            if self.sent.get(key, ("",))[0] != fingerprint:
                self.sent[key] = (fingerprint, self.cursor)
                fresh.append(record)
        return fresh

    def _deleted(self, kind: str, deletions: list[dict]) -> list[str]:
        fresh = []
        for d in deletions:
            key = ("deleted " + kind, d["id"])
            if d["kind"] == kind and key not in self.sent:
                self.sent[key] = (d["delete_time"], self.cursor)
                fresh.append(d["id"])
        return fresh

    async def check(self) -> None:
        since = self.cursor - OVERLAP
        executions, schedules, deletions = await self.service.changes_since(_text(since), BATCH)
        newest = [_parse(r["update_time"]) for r in executions + schedules] + [_parse(d["delete_time"]) for d in deletions]
        if newest:
            self.cursor = max(self.cursor, max(newest))
        if BATCH in (len(executions), len(schedules), len(deletions)):
            # A burst larger than a batch: go past it rather than read it again.
            self.cursor += dt.timedelta(microseconds=1) + OVERLAP
        changes = {
            "executions": self._new("execution", executions),
            "schedules": self._new("schedule", schedules),
            "deleted_executions": self._deleted("execution", deletions),
            "deleted_schedules": self._deleted("schedule", deletions),
        }
        horizon = self.cursor - 2 * OVERLAP
        self.sent = {k: v for k, v in self.sent.items() if v[1] >= horizon}
        if any(changes.values()):
            self.emit(**changes)
