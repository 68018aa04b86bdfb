"""The console's history: plans and runs in one database. SQLite on the control host by default (WAL:
readers never wait on the writer); PostgreSQL when ``ROLLBOOK_DATABASE_URL`` names one (what several
control hosts share). The same SQL serves both::

    store = Store(Path("/var/lib/rollbook-console/history.db"))      # or Store.of(folder), which reads the URL
    plan = store.add_plan(requester="olga", system="vision", action="rollback", environment="sandbox",
                          hosts=["vision-1"], data={"vision_waves": "tokens"}, document={...})
    run = store.add_run(plan, requester="olga")
    store.finish(run["id"], "succeeded", {"vision-1": "succeeded"})
    store.runs(host="vision-1")     # newest first; console runs and runs collected from hosts alike
"""

import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS plans (id TEXT PRIMARY KEY, created DOUBLE PRECISION, requester TEXT, system TEXT, "
    "action TEXT, environment TEXT, hosts TEXT, data TEXT, digest TEXT, document TEXT, approver TEXT, approval TEXT, "
    "used INTEGER DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, plan TEXT, source TEXT, requester TEXT, system TEXT, "
    "action TEXT, environment TEXT, hosts TEXT, status TEXT, started DOUBLE PRECISION, finished DOUBLE PRECISION, "
    "host_status TEXT, output TEXT)",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started)")
DATABASE_URL = "ROLLBOOK_DATABASE_URL"
# a run that names a host (its hosts column is a JSON list), as each database says it
HOLDS_HOST = {"sqlite": "EXISTS (SELECT 1 FROM json_each(runs.hosts) WHERE value = ?)",
              "postgresql": "runs.hosts::jsonb @> jsonb_build_array(?::text)"}
FINAL = ("succeeded", "failed", "refused", "cancelled", "unproven")
JSON_COLUMNS = ("hosts", "data", "document", "host_status")


def _row(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {key: json.loads(value) if key in JSON_COLUMNS and value is not None else value
            for key, value in dict(row).items()}


class Store:
    """One database; every method is one statement (autocommit), safe from any thread."""

    def __init__(self, path: Path | None = None, url: str = ""):
        self._lock = threading.Lock()
        if url:
            import psycopg
            from psycopg.rows import dict_row

            self.dialect = "postgresql"
            self._db = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.dialect = "sqlite"
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            self._db.execute(statement)

    @classmethod
    def of(cls, folder: Path) -> "Store":
        """PostgreSQL when ``ROLLBOOK_DATABASE_URL`` names one, else ``folder/history.db``."""
        url = os.environ.get(DATABASE_URL, "")
        return cls(url=url) if url else cls(Path(folder) / "history.db")

    def _cursor(self, sql: str, args):
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        return self._db.execute(sql, args)

    def _do(self, sql: str, *args) -> list[dict]:
        with self._lock:
            cursor = self._cursor(sql, args)
            return cursor.fetchall() if cursor.description else []

    def add_plan(self, *, requester: str, system: str, action: str, environment: str, hosts: list[str],
                 data: dict, document: dict) -> dict:
        plan_id = uuid.uuid4().hex[:16]
        self._do("INSERT INTO plans (id, created, requester, system, action, environment, hosts, data, digest, "
                 "document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", plan_id, time.time(), requester, system, action,
                 environment, json.dumps(hosts), json.dumps(data), document["digest"], json.dumps(document))
        return self.plan(plan_id)

    def plan(self, plan_id: str) -> dict | None:
        return _row(next(iter(self._do("SELECT * FROM plans WHERE id = ?", plan_id)), None))

    def approve(self, plan_id: str, approver: str, approval: str):
        self._do("UPDATE plans SET approver = ?, approval = ? WHERE id = ?", approver, approval, plan_id)

    def use(self, plan_id: str) -> bool:
        """Mark the plan used; False when it was already (a plan runs once)."""
        with self._lock:
            return self._cursor("UPDATE plans SET used = 1 WHERE id = ? AND used = 0", (plan_id,)).rowcount == 1

    def add_run(self, plan: dict, requester: str, output: str = "", source: str = "console",
                status: str = "queued", run_id: str = "", started: float | None = None) -> dict:
        run_id = run_id or uuid.uuid4().hex[:16]
        self._do("INSERT INTO runs (id, plan, source, requester, system, action, environment, hosts, "
                 "status, started, host_status, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (id) DO NOTHING",
                 run_id, plan.get("id", ""), source, requester, plan["system"], plan.get("action", ""),
                 plan["environment"], json.dumps(plan["hosts"]), status, started or time.time(),
                 json.dumps({host: status for host in plan["hosts"]}), output)
        return self.run(run_id)

    def set_output(self, run_id: str, output: str):
        self._do("UPDATE runs SET output = ? WHERE id = ?", output, run_id)

    def collected(self, run_id: str, *, source: str, requester: str, system: str, action: str, environment: str,
                  hosts: dict[str, str], status: str, started: float, finished: float):
        """A run read from the hosts' own history or the drift timer's report, ``hosts`` each with its status
        (replaced when read again: a started run ends)."""
        self._do("INSERT INTO runs (id, plan, source, requester, system, action, environment, hosts, status, started, "
                 "finished, host_status, output) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '') ON CONFLICT (id) DO "
                 "UPDATE SET status = excluded.status, finished = excluded.finished, host_status = excluded.host_status",
                 run_id, source, requester, system, action, environment, json.dumps(sorted(hosts)), status, started,
                 finished if status in FINAL else None, json.dumps(hosts))

    def run(self, run_id: str) -> dict | None:
        return _row(next(iter(self._do("SELECT * FROM runs WHERE id = ?", run_id)), None))

    def update(self, run_id: str, status: str, host_status: dict[str, str]):
        finished = time.time() if status in FINAL else None
        self._do("UPDATE runs SET status = ?, host_status = ?, finished = ? WHERE id = ?", status,
                 json.dumps(host_status), finished, run_id)

    def runs(self, *, host: str = "", system: str = "", environment: str = "", outcome: str = "",
             who: str = "", limit: int = 200) -> list[dict]:
        """Newest first, filtered by what is given."""
        where, args = [], []
        for column, value in (("system", system), ("environment", environment), ("status", outcome),
                              ("requester", who)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if host:
            where.append(HOLDS_HOST[self.dialect])
            args.append(host)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        return [_row(row) for row in self._do(sql + " ORDER BY started DESC LIMIT ?", *args, limit)]

    def expired(self, before: float) -> list[dict]:
        """Finished runs older than ``before`` (their output is removed; the row stays)."""
        return [_row(row) for row in self._do("SELECT * FROM runs WHERE finished < ? AND output != ''", before)]

    def forget_output(self, run_id: str):
        self._do("UPDATE runs SET output = '' WHERE id = ?", run_id)
