"""console.store: plans run once, runs filtered by host, system, environment, outcome and who."""

from rollbook.console.store import Store


def plans_run_once_and_runs_are_found(store: Store) -> dict:
    """What every store does, SQLite or PostgreSQL (tests/e2e/test_console_store.py); the first run."""
    plan = store.add_plan(requester="olga", system="vision", action="rollback", environment="sandbox",
                          hosts=["vision-1", "vision-2"], data={"vision_waves": "b"}, document={"digest": "sha256:x"})
    assert store.use(plan["id"]) and not store.use(plan["id"])
    run = store.add_run(plan, "olga")
    store.update(run["id"], "succeeded", {"vision-1": "succeeded", "vision-2": "succeeded"})
    other = store.add_run(plan | {"hosts": ["vision-3"], "system": "phase17"}, "anna", source="cli", status="failed")
    assert [found["id"] for found in store.runs(host="vision-2")] == [run["id"]]
    assert [found["id"] for found in store.runs(system="phase17")] == [other["id"]]
    assert [found["id"] for found in store.runs(outcome="succeeded", who="olga")] == [run["id"]]
    assert store.run(run["id"])["finished"] - store.run(run["id"])["started"] < 60  # seconds, not minutes (float4)
    return store.run(run["id"])


def test_a_plan_is_used_once_and_runs_are_found_by_their_filters(tmp_path):
    store = Store(tmp_path / "history.db")
    plans_run_once_and_runs_are_found(store)
    assert store._do("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_runs_collected_from_hosts_are_replaced_when_read_again(tmp_path):
    store = Store(tmp_path / "history.db")
    row = dict(source="cli", requester="bob", system="vision", action="rollback", environment="prod",
               hosts={"vision-1": "succeeded"}, started=1.0, finished=2.0)
    store.collected("r1:vision-1:vision", status="running", **row)
    assert store.run("r1:vision-1:vision")["finished"] is None
    store.collected("r1:vision-1:vision", status="succeeded", **row)
    assert [run["status"] for run in store.runs(host="vision-1")] == ["succeeded"]


def test_the_drift_timer_s_last_check_joins_the_history_once_per_tick(tmp_path):
    import json

    from rollbook.console.collect import drift_tick

    store, report = Store(tmp_path / "history.db"), tmp_path / "drift.json"
    assert not drift_tick(store, report, "prod")  # no tick yet
    report.write_text(json.dumps({"result": "drift", "hosts": [{"host": "vision-1", "result": "drift"},
                                                                {"host": "phase17-1", "result": "converged"}]}))
    assert drift_tick(store, report, "prod") and drift_tick(store, report, "prod")
    [tick] = store.runs(host="vision-1")
    assert (tick["source"], tick["status"], tick["environment"]) == ("drift timer", "failed", "prod")
    assert tick["host_status"] == {"vision-1": "drift", "phase17-1": "converged"}


def test_runs_the_console_left_going_when_it_stopped_are_failed_when_it_starts(tmp_path):
    from rollbook.console.runner import Runner

    store = Store(tmp_path / "history.db")
    plan = {"id": "p", "system": "vision", "action": "rollback", "environment": "sandbox", "hosts": ["vision-1"]}
    going = store.add_run(plan, "olga", status="running")
    collected = dict(source="cli", requester="bob", system="vision", action="rollback", environment="sandbox",
                     hosts={"vision-2": "running"}, started=1.0, finished=2.0)
    store.collected("r:vision-2:vision", status="running", **collected)  # a CLI run still going: not ours
    Runner(store, tmp_path / "runs")
    assert store.run(going["id"])["status"] == "failed"
    assert store.run("r:vision-2:vision")["status"] == "running"
