"""Faults during a run (issue: lost hosts, killed runs, failed restarts, unreachable services).

Each fault is made on the sandbox from outside rollbook: a host's ``systemctl`` that hangs
on ``daemon-reload`` (the restart step) until the test acts, ``docker stop`` of a host, ``kill
-9`` of the pyinfra process, a value the stand-in refuses, a stopped Redis/PostgreSQL, a table
lock. Every host is then checked independently: file hashes, the process environment, HTTP,
key and row counts, the history file.
"""

import json
import re
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest

from .pyinfra_run import REPO, command, finished, pyinfra

SYSTEMD, COMPOSE, VISION = "analyticbot-1", "analyticbot-2", "vision-1"
AB_ENV, VISION_ENV = "/opt/analyticbot/.env.production", "/opt/vision/.env"
MASTER = "ENABLE_ADVANCED_RECOMMENDATIONS"
PAUSED = "/run/rollbook-test-paused"  # written by the hanging systemctl: the step's shell pid, its own pid
HANGING_SYSTEMCTL = f"""#!/bin/sh
# test fault: the restart step hangs here (daemon-reload comes first) until the test acts
if [ "$1" = daemon-reload ]; then echo "$PPID $$" > {PAUSED}; sleep 600; fi
exec /usr/bin/systemctl "$@"
"""
RESTART = "analyticbot | Restart "  # the step's name starts so on both hosts (the unit or the compose service)


def analyticbot(name: str, limit: str = "analyticbot_api", **data):
    return pyinfra("inventories/sandbox.py", f"deploys/analyticbot_{name}.py", data=data, limit=limit)


def vision(name: str, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/vision_{name}.py", data=data, limit="vision_workers")


def history(probes, name: str) -> list[dict]:
    text = probes.file_text(name, "/var/lib/rollbook/history.jsonl")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def process_env(probes, name: str) -> dict[str, str]:
    if name == COMPOSE:
        return probes.compose_env(name, "api")
    return probes.unit_env(name, "analyticbot-api")


def wait_for(check, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def container(probes, name: str):
    return probes.docker.containers.get(probes.state.host(name).container)


@contextmanager
def hanging_restart(probes, name: str):
    """The host's restart step hangs until the test acts; afterwards the host is as before."""
    host = container(probes, name)
    write = host.exec_run(["sh", "-c", f"printf '%s' \"$1\" > /usr/local/bin/systemctl && "
                                       f"chmod 755 /usr/local/bin/systemctl && rm -f {PAUSED}", "sh", HANGING_SYSTEMCTL])
    assert write.exit_code == 0, write.output
    try:
        yield host
    finally:
        host.reload()
        if host.status != "running":
            bring_back(probes, name)
        container(probes, name).exec_run(["rm", "-f", "/usr/local/bin/systemctl", PAUSED])


def paused(host) -> bool:
    host.reload()
    return host.status == "running" and host.exec_run(["test", "-s", PAUSED]).exit_code == 0


def stop_hanging_step(host):
    """Kill the hung step's shell and the hanging systemctl, so the restart never happens."""
    done = host.exec_run(["sh", "-c", f"read step wrapper < {PAUSED} && kill -9 $step && pkill -9 -P $wrapper; "
                                      f"kill -9 $wrapper; rm -f {PAUSED}"])
    assert done.exit_code == 0, done.output


def background(deploy: str, limit: str, **data) -> subprocess.Popen:
    return subprocess.Popen(command("inventories/sandbox.py", deploy, data=data, limit=limit), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(process: subprocess.Popen):
    stdout, stderr = process.communicate(timeout=600)
    return finished(process.returncode, stdout, stderr)


def bring_back(probes, name: str):
    """Start a stopped host again and wait until it answers over SSH with its services up."""
    container(probes, name).start()

    def answers():
        try:
            return probes.ssh(name).run("systemctl is-active analyticbot-api postgresql").rc == 0
        except Exception:
            return False

    wait_for(answers, f"{name} to come back", 180)


@pytest.fixture
def analyticbot_enabled(sandbox, probes):
    run = analyticbot("enable", rollbook_takeover="true")
    assert run.returncode == 0, run.output
    yield
    for name in (SYSTEMD, COMPOSE):
        container(probes, name).reload()
        if container(probes, name).status != "running":
            bring_back(probes, name)


def test_a_lost_host_fails_the_run_naming_it_and_a_rerun_converges_only_it(analyticbot_enabled, probes):
    with hanging_restart(probes, SYSTEMD) as host:
        process = background("deploys/analyticbot_rollback.py", "analyticbot_api")
        wait_for(lambda: paused(host), "the restart step on analyticbot-1")
        host.stop(timeout=5)  # the host is lost between writing its env file and restarting
        run = collect(process)
        assert run.returncode != 0
        assert any(op.startswith(RESTART) for op, name in run.failed if name == SYSTEMD), run.failed
        assert "[analyticbot-1] unreachable" in run.stderr
        assert not {op for op, name in run.failed if name == COMPOSE}  # the other host converged, verified
        assert process_env(probes, COMPOSE)[MASTER] == "false"
        last = history(probes, COMPOSE)[-1]
        assert last["event"] == "finished" and last["outcome"] == "converged" and last["verify"]["passed"] is True

    assert probes.file_text(SYSTEMD, AB_ENV).count(f"{MASTER}=false") == 1  # written before it was lost
    # it booted on the file it had: file and process agree; its record still says the run failed to finish
    assert process_env(probes, SYSTEMD)[MASTER] == "false"
    assert [r["event"] for r in history(probes, SYSTEMD)][-1] == "started"
    refused = analyticbot("rollback")
    assert refused.returncode != 0 and "stale" in refused.output and "rollbook_takeover=true" in refused.output

    rerun = analyticbot("rollback", rollbook_takeover="true")
    assert rerun.returncode == 0, rerun.output
    assert {name for _, name in rerun.changed} <= {SYSTEMD}, rerun.changed  # no change elsewhere
    assert history(probes, SYSTEMD)[-1]["outcome"] in ("converged", "no_change")
    assert process_env(probes, SYSTEMD)[MASTER] == "false"
    assert analyticbot("rollback").changed == set()


def test_fail_percent_stops_every_host_and_records_the_abort(analyticbot_enabled, probes):
    with hanging_restart(probes, SYSTEMD) as host:
        process = background("deploys/analyticbot_rollback.py", "analyticbot_api", rollbook_fail_percent=40)
        wait_for(lambda: paused(host), "the restart step on analyticbot-1")
        host.stop(timeout=5)
        run = collect(process)
    assert run.returncode != 0 and "Over 40% of hosts failed" in run.output
    last = history(probes, COMPOSE)[-1]
    assert last["event"] == "finished" and last["outcome"] == "aborted", last
    assert probes.ssh(COMPOSE).run("test -e /var/lib/rollbook/locks/analyticbot.lock").rc == 1  # unlocked
    rerun = analyticbot("rollback", rollbook_takeover="true")
    assert rerun.returncode == 0, rerun.output
    assert all(process_env(probes, name)[MASTER] == "false" for name in (SYSTEMD, COMPOSE))


def test_a_killed_run_leaves_a_stale_lock_and_the_next_run_restarts_and_records_both(analyticbot_enabled, probes):
    before_pid = probes.ssh(SYSTEMD).check_output("systemctl show -p MainPID --value analyticbot-api")
    with hanging_restart(probes, SYSTEMD) as host:
        process = background("deploys/analyticbot_rollback.py", SYSTEMD)
        wait_for(lambda: paused(host), "the restart step on analyticbot-1")
        process.send_signal(signal.SIGKILL)  # after the env file was written, before the restart
        process.wait(timeout=30)
        stop_hanging_step(host)
    killed_pid = process.pid
    assert probes.file_text(SYSTEMD, AB_ENV).count(f"{MASTER}=false") == 1
    assert process_env(probes, SYSTEMD)[MASTER] == "true"  # the process never saw it
    assert probes.ssh(SYSTEMD).check_output("systemctl show -p MainPID --value analyticbot-api") == before_pid
    lock = json.loads(probes.file_text(SYSTEMD, "/var/lib/rollbook/locks/analyticbot.lock"))
    assert lock["pid"] == killed_pid

    refused = analyticbot("rollback", limit=SYSTEMD)
    assert refused.returncode != 0
    assert f"its holder (pid {killed_pid}" in refused.output and "rollbook_takeover=true" in refused.output

    rerun = analyticbot("rollback", limit=SYSTEMD, rollbook_takeover="true")
    assert rerun.returncode == 0, rerun.output
    assert any(op.startswith(RESTART) for op, _ in rerun.changed)  # the env file was right; the process was not
    assert process_env(probes, SYSTEMD)[MASTER] == "false"
    records = history(probes, SYSTEMD)
    killed = [r for r in records if r["run_id"] == lock["run_id"]]
    assert [r["event"] for r in killed] == ["started"]  # the killed run: started, never finished
    took_over = [r for r in records if r.get("took_over_stale_lock_of", {}).get("run_id") == lock["run_id"]]
    assert len(took_over) == 1
    finish = [r for r in records if r["run_id"] == took_over[0]["run_id"] and r["event"] == "finished"]
    assert finish[0]["outcome"] == "converged" and finish[0]["verify"]["passed"] is True
    assert analyticbot("rollback", limit=SYSTEMD).changed == set()


def test_a_service_that_does_not_start_on_the_new_values_gets_this_run_s_backup_back(sandbox, probes):
    import runpy

    assert vision("rollback").returncode == 0  # two earlier runs, each leaving a backup of .env:
    assert vision("enable").returncode == 0  # the newest of them holds the rolled-back flags
    before_hash = probes.file_sha256(VISION, VISION_ENV)
    before_env = probes.compose_env(VISION, "worker")
    values = runpy.run_path(str(REPO / "group_data" / "all.py"))["vision_enabled_values"]
    poisoned = {**values, "a": {**values["a"], "VISION_MAX_OUTPUT_TOKENS": "999999"}}  # over the model's limit

    run = vision("enable", vision_enabled_values=json.dumps(poisoned), vision_health_timeout=10)
    assert run.returncode != 0
    assert "restored /opt/vision/.env from /opt/vision/.env.backup." in run.output, run.output
    # independently: the file, the running worker and its health are as before
    assert probes.file_sha256(VISION, VISION_ENV) == before_hash
    assert probes.compose_env(VISION, "worker")["VISION_MAX_OUTPUT_TOKENS"] == before_env["VISION_MAX_OUTPUT_TOKENS"]
    assert probes.http(VISION, "worker", "/metrics")[0] == 200
    failed = probes.ssh(VISION).check_output("ls -1t /opt/vision/.env.failed.* | head -n 1")
    assert "VISION_MAX_OUTPUT_TOKENS=999999" in probes.file_text(VISION, failed)
    last = history(probes, VISION)[-1]
    assert last["event"] == "finished" and last["outcome"] == "restored", last
    recorded = json.loads(probes.file_text(VISION, "/var/lib/rollbook/state.json"))["vision"]["units"]
    assert set(recorded.values()) == {"enabled"}
    assert vision("enable").changed == set()  # nothing left half-way


def test_cleanup_with_its_service_unreachable_fails_after_verifying_and_a_rerun_only_cleans_up(sandbox, probes):
    assert vision("enable").returncode == 0
    redis = probes.redis(VISION)
    redis.mset({f"vision:phash:fault-{i}": "1" for i in range(50)})
    host = probes.ssh(VISION)
    secret = probes.secrets["VISION_DB_PASSWORD"]

    host.run("systemctl stop redis-server")
    try:
        run = vision("rollback", vision_waves="b", vision_strip_context="true")
        assert run.returncode != 0
        assert "Redis unreachable at 127.0.0.1:6379 (deleting vision:phash:*)" in run.output
        assert probes.compose_env(VISION, "worker")["VISION_PHASH_ENABLED"] == "false"
        last = history(probes, VISION)[-1]
        assert last["outcome"] == "failed" and last["verify"]["passed"] is True, last  # verified first
    finally:
        host.run("systemctl start redis-server")

    probes.redis(VISION).mset({f"vision:phash:fault-{i}": "1" for i in range(50)})  # surely some to delete now
    host.run("systemctl stop postgresql")
    try:
        run = vision("rollback", vision_waves="b", vision_strip_context="true")
        assert run.returncode != 0
        assert "PostgreSQL unreachable at 127.0.0.1:5432 (stripping analysis.context)" in run.output
        assert secret not in run.output
        assert re.search(r"Redis: delete \d+ keys vision:phash:\*", run.output)  # Redis is back: that cleanup is done
        assert not list(probes.redis(VISION).scan_iter("vision:phash:*"))
    finally:
        host.run("systemctl start postgresql")

    rerun = vision("rollback", vision_waves="b", vision_strip_context="true")
    assert rerun.returncode == 0, rerun.output
    assert {op for op, _ in rerun.changed} <= {"vision | Save and strip analysis.context from post_enrichment"}

    dead = vision("rollback", vision_waves="tokens", vision_purge_s3_cache="true",
                  vision_s3_endpoint="http://127.0.0.1:9")
    assert dead.returncode != 0 and "S3 unreachable" in dead.output and "http://127.0.0.1:9" in dead.output
    assert probes.compose_env(VISION, "worker")["VISION_TOKENS_COUNT_ENABLED"] == "false"
    assert probes.secrets["S3_SECRET_ACCESS_KEY"] not in dead.output
    rerun = vision("rollback", vision_waves="tokens", vision_purge_s3_cache="true")
    assert rerun.returncode == 0, rerun.output
    assert {op for op, _ in rerun.changed} <= {"vision | Save and delete the vision S3 result cache"}


def test_a_hanging_sql_step_times_out_naming_the_step(analyticbot_enabled, probes):
    assert analyticbot("enable", limit=SYSTEMD, analyticbot_migration="apply").returncode == 0
    with probes.postgres(SYSTEMD, "analytic_bot", "analyticbot", "ANALYTICBOT_DB_PASSWORD") as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM posts")  # holds a share lock: reads pass, the migration's DROP waits
        run = analyticbot("rollback", limit=SYSTEMD, analyticbot_migration="rollback", rollbook_command_timeout=5)
        holder.execute("ROLLBACK")
    assert run.returncode != 0
    assert "migration 004 rollback: timed out after 5s" in run.output, run.output
    with probes.postgres(SYSTEMD, "analytic_bot", "analyticbot", "ANALYTICBOT_DB_PASSWORD") as db:
        columns = db.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'posts' "
                             "AND column_name IN ('has_video', 'has_media')").fetchone()[0]
    assert columns == 2  # one transaction: nothing half-done
    done = analyticbot("rollback", limit=SYSTEMD, analyticbot_migration="rollback")
    assert done.returncode == 0, done.output
    assert analyticbot("enable", limit=SYSTEMD, analyticbot_migration="apply").returncode == 0
