"""The console's history in PostgreSQL (``ROLLBOOK_DATABASE_URL``), on a sandbox host's real server: the
same SQL as SQLite, the same answers."""

import secrets

import pytest

from rollbook.console.store import DATABASE_URL, Store

from ..unit.console.test_store import plans_run_once_and_runs_are_found

HOST = "vision-1"


@pytest.fixture(scope="module")
def database_url(sandbox, probes):
    """A database of its own on the host's PostgreSQL, reached on its published 127.0.0.1 port."""
    password = secrets.token_hex(12)
    script = ("DROP DATABASE IF EXISTS rollbook_console; DROP ROLE IF EXISTS rollbook_console; "
              f"CREATE ROLE rollbook_console LOGIN PASSWORD '{password}'; "
              "CREATE DATABASE rollbook_console OWNER rollbook_console;")
    for statement in script.split("; "):
        probes.ssh(HOST).check_output(f"su postgres -c \"psql -q -c \\\"{statement.rstrip(';')}\\\"\"")
    return f"postgresql://rollbook_console:{password}@127.0.0.1:{probes.state.host(HOST).port('postgres')}/rollbook_console"


def test_plans_run_once_and_runs_are_found_by_their_filters(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv(DATABASE_URL, database_url)
    store = Store.of(tmp_path)
    assert store.dialect == "postgresql" and not (tmp_path / "history.db").exists()
    run = plans_run_once_and_runs_are_found(store)
    row = dict(source="cli", requester="bob", system="vision", action="rollback", environment="prod",
               hosts={"vision-9": "succeeded"}, started=1.0, finished=2.0)
    store.collected("r1:vision-9:vision", status="running", **row)
    store.collected("r1:vision-9:vision", status="succeeded", **row)
    assert [found["status"] for found in store.runs(host="vision-9")] == ["succeeded"]
    again = Store.of(tmp_path)  # a second control host: the same history
    assert again.run(run["id"])["host_status"] == {"vision-1": "succeeded", "vision-2": "succeeded"}
