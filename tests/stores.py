"""State stores for the service tests: a SQLite file, and a real PostgreSQL server started
on loopback for the session (initdb into a temp dir, run as the `postgres` user when we are
root, as PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
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
        import sqlite3

        path = url.removeprefix("sqlite://")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with sqlite3.connect(path) as db:
            db.executescript(sql)
    else:
        # The migrations' own dialect rule (src/store/migrations.rs, `for_postgres`).
        sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace("INTEGER", "BIGINT")
        postgres.execute_sql(url, sql)


def execute_sql(url: str, sql: str, postgres: PostgresServer | None = None):
    """Runs SQL text against a store, behind the core's back (to set up a state no API makes)."""
    if url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.executescript(sql)
    else:
        postgres.execute_sql(url, sql)
