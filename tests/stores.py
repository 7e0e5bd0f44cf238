"""State stores for the service tests: a SQLite file, and a real PostgreSQL server started
on loopback for the session (initdb into a temp dir, run as the `postgres` user when we are
root, as PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid


def _pg_bin() -> str | None:
    for pattern in ["/usr/lib/postgresql/*/bin"]:
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        bin_dir = _pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found: install postgresql (.ci/run does)")
        self.bin = bin_dir
        self.root = tempfile.mkdtemp(prefix="nx-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o755)
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                  "start")

    def _run(self, tool, *args):
        subprocess.run(self.as_user + [os.path.join(self.bin, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def new_database(self) -> str:
        name = "nx_" + uuid.uuid4().hex[:12]
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def execute_sql(self, url: str, sql: str):
        """Runs SQL text against one of our databases (psql, stopping at the first error)."""
        subprocess.run([os.path.join(self.bin, "psql"), "-q", "-v", "ON_ERROR_STOP=1", url], input=sql,
                       text=True, check=True, capture_output=True)

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def write_old_store(url: str, sql_path, postgres: PostgresServer | None = None):
    """Creates a store as an older version wrote it, from that version's frozen schema."""
    sql = open(sql_path).read()
    if url.startswith("sqlite://"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite://")), exist_ok=True)
        _sqlite_child(url, sql, script=True)
    else:
        # The migrations' own dialect rule (src/store/migrations.rs, `for_postgres`).
        sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace("INTEGER", "BIGINT")
        postgres.execute_sql(url, sql)


def execute_sql(url: str, sql: str, postgres: PostgresServer | None = None):
    """Runs SQL text against a store, behind the core's back (to set up a state no API makes)."""
    if url.startswith("sqlite://"):
        _sqlite_child(url, sql, script=True)
    else:
        postgres.execute_sql(url, sql)


def query_sql(store, sql: str, *params) -> list[tuple]:
    """Rows of one query on a SQLite store (a URL or a path), read behind the core's back."""
    url = store if str(store).startswith("sqlite://") else f"sqlite://{store}"
    return [tuple(row) for row in _sqlite_child(url, sql, params=list(params))]


# Never open a store with Python's sqlite3 in a process that has loaded the core: the core links
# its own SQLite, and two SQLite libraries in one process undo each other's POSIX locks when one
# closes its file, which corrupts the database ("database disk image is malformed", SQLite's
# "How To Corrupt An SQLite Database File", 2.2.1). A child process holds its own locks.
_SQLITE_CHILD = """
import json, sqlite3, sys
job = json.load(sys.stdin)
db = sqlite3.connect(job["path"], timeout=30)
try:
    if job["script"]:
        db.executescript(job["sql"])
        rows = []
    else:
        rows = db.execute(job["sql"], job["params"]).fetchall()
    db.commit()
finally:
    db.close()
json.dump(rows, sys.stdout)
"""


def _sqlite_child(url: str, sql: str, script: bool = False, params: list | None = None) -> list:
    job = {"path": url.removeprefix("sqlite://"), "sql": sql, "script": script, "params": params or []}
    done = subprocess.run([sys.executable, "-c", _SQLITE_CHILD], input=json.dumps(job), text=True,
                          capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"SQL on {url} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def this_minute():
    """The start of this minute (UTC): a slot due now, on time."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)


def serve_fires(store_path, schedule_id: str, slot, log_path, timeout: float = 90) -> dict:
    """Brings a schedule's next slot to `slot` (this minute's: no waiting for a minute to turn),
    runs `notebook-executor serve` alone on the store, and returns the record of the execution
    it fired once SUCCEEDED (failing on any other end, with serve's log)."""
    store = f"sqlite://{store_path}"
    execute_sql(store, f"UPDATE schedules SET next_run_time = '{slot.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}' "
                       f"WHERE id = '{schedule_id}';")
    with open(log_path, "w") as log:
        serve = subprocess.Popen([sys.executable, "-m", "notebook_executor.cli", "serve", "--store", store],
                                 stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = query_sql(store_path, "SELECT id, state, region FROM executions WHERE schedule_id = ?", schedule_id)
            record = dict(zip(("id", "state", "region"), rows[0])) if rows else {"state": None}
            if record["state"] == "SUCCEEDED":
                return record
            assert record["state"] not in ("FAILED", "EXPIRED", "CANCELLED"), (record, open(log_path).read())
            assert time.monotonic() < deadline, (record, open(log_path).read())
            time.sleep(0.3)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
