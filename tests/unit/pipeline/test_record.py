"""Lock staleness (stale only when expired or its holder is known to be gone), and what a failed step records."""

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from rollbook.core import runs
from rollbook.host.scripts import run_record
from rollbook.pipeline.record import SCRIPT, failure_command, script_path, stale_because, state_update

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def holder(**changes):
    lock = {"run_id": "r1", "operator": "alice", "controller": "elsewhere", "pid": 1,
            "since": "2026-11-23T11:59:00Z", "expires": "2026-11-23T12:30:00Z"}
    lock.update(changes)
    return lock


def test_a_live_lock_of_another_controller_is_not_stale():
    assert stale_because(holder(), NOW) == ""


def test_an_expired_lock_is_stale():
    assert stale_because(holder(expires="2026-11-23T11:00:00Z"), NOW) == "expired at 2026-11-23T11:00:00Z"


def test_a_lock_whose_holder_process_is_gone_is_stale():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert "is gone" in stale_because(holder(controller=runs.CONTROLLER, pid=gone.pid), NOW)
    assert stale_because(holder(controller=runs.CONTROLLER, pid=runs.PID), NOW) == ""


def test_a_holder_of_the_same_host_name_in_another_pid_namespace_is_not_judged_by_our_pids():
    """Two controllers can share a host name (containers of one machine): their PIDs are not ours."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    elsewhere = holder(controller=runs.CONTROLLER, pid=gone.pid, pid_namespace="pid:[1]")
    assert stale_because(elsewhere, NOW) == ""
    assert "is gone" in stale_because(holder(controller=runs.CONTROLLER, pid=gone.pid,
                                             pid_namespace=runs.PID_NAMESPACE), NOW)


def test_an_unreadable_lock_is_stale():
    assert stale_because({}, NOW) == "unreadable lock"


def _run(tmp_path, **changes):
    fields = dict(system="vision", kind="enable", deploy="deploys/vision_enable.py", environment="sandbox",
                  authorization={}, scope={}, reason="", units_before={"a": "rolled_back"},
                  units_after={"a": "enabled", "b": "enabled"}, state_dir=str(tmp_path), run_id="r2")
    fields.update(changes)
    return runs.HostRun(**fields)


def installed(tmp_path):
    """The host script where deploys/bootstrap.py installs it, under a state dir ``tmp_path``."""
    path = Path(script_path(str(tmp_path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCRIPT)


def _history(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]


def test_a_failed_step_records_failed_and_unlocks_only_its_own_lock(tmp_path):
    run = _run(tmp_path)
    installed(tmp_path)
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "vision.lock").write_text('{"run_id": "r2"}\n')
    done = subprocess.run(["sh", "-c", failure_command(str(tmp_path), run, "Recreate the worker")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split() == ["FAILED"]
    assert [(r["outcome"], r["failed_step"]) for r in _history(tmp_path)] == [("failed", "Recreate the worker")]
    assert not (tmp_path / "locks" / "vision.lock").exists()


def test_a_restored_step_records_restored_and_the_state_before_the_run(tmp_path):
    run = _run(tmp_path)
    installed(tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"vision": {"units": {"a": "enabled", "b": "enabled"}}}))
    Path(run.restored_marker).parent.mkdir(parents=True)
    Path(run.restored_marker).write_text("/opt/vision/.env.backup.x\n")
    done = subprocess.run(["sh", "-c", failure_command(str(tmp_path), run, "Recreate the worker")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split() == ["RESTORED"]  # the run's notice says "restored"
    assert [r["outcome"] for r in _history(tmp_path)] == ["restored"]
    assert json.loads((tmp_path / "state.json").read_text())["vision"]["units"] == {"a": "rolled_back"}
    assert not Path(run.restored_marker).exists()


def test_sources_are_merged_beside_the_units_and_put_back_with_them(tmp_path):
    def _record_state(state_dir, run, back=False):  # what the host script merges, as it merges it
        run_record.record_state(state_dir, run.system, state_update(run, back=back))
        return "true"

    (tmp_path / "state.json").write_text(json.dumps({"voice_v2": {"units": {"env": "rolled_back"}}}))
    rollback = _run(tmp_path, system="voice_v2", kind="rollback", units_before={"env": "rolled_back"},
                    units_after={"code": "rolled_back", "requirements": "rolled_back"},
                    sources_after={"code": "/backup/voice_v2_20251101"})
    assert subprocess.run(["sh", "-c", _record_state(str(tmp_path), rollback)]).returncode == 0
    record = json.loads((tmp_path / "state.json").read_text())["voice_v2"]
    assert record["units"] == {"env": "rolled_back", "code": "rolled_back", "requirements": "rolled_back"}
    assert record["sources"] == {"code": "/backup/voice_v2_20251101"}
    later = _run(tmp_path, system="voice_v2", kind="rollback", units_before=record["units"],
                 units_after={"code": "rolled_back", "requirements": "rolled_back"},
                 sources_before=record["sources"], sources_after={"code": "/backup/voice_v2_20251031"})
    assert subprocess.run(["sh", "-c", _record_state(str(tmp_path), later)]).returncode == 0
    assert json.loads((tmp_path / "state.json").read_text())["voice_v2"]["sources"] == {
        "code": "/backup/voice_v2_20251031"}
    assert subprocess.run(["sh", "-c", _record_state(str(tmp_path), later, back=True)]).returncode == 0
    assert json.loads((tmp_path / "state.json").read_text())["voice_v2"]["sources"] == {
        "code": "/backup/voice_v2_20251101"}  # a restored run puts the source before it back
    (tmp_path / "state.json").write_text("{}")  # a first rollback that is restored leaves no source behind
    first = _run(tmp_path, system="voice_v2", units_before={}, units_after={"code": "rolled_back"},
                 sources_after={"code": "/b"})
    for back in (False, True):
        subprocess.run(["sh", "-c", _record_state(str(tmp_path), first, back=back)])
    record = json.loads((tmp_path / "state.json").read_text())["voice_v2"]
    assert (record["units"], record["sources"]) == ({}, {})
    vision = _run(tmp_path)  # a system without sources records none
    subprocess.run(["sh", "-c", _record_state(str(tmp_path), vision)])
    assert "sources" not in json.loads((tmp_path / "state.json").read_text())["vision"]


def test_a_host_script_of_another_protocol_answers_version_and_changes_nothing(tmp_path):
    run = _run(tmp_path)
    path = Path(script_path(str(tmp_path)))
    path.parent.mkdir(parents=True)
    path.write_text(SCRIPT.replace("PROTOCOL = 1 ", "PROTOCOL = 99 "))
    done = subprocess.run(["sh", "-c", failure_command(str(tmp_path), run, "x")], capture_output=True, text=True)
    assert done.returncode == 3 and done.stdout.startswith("VERSION")
    assert not (tmp_path / "history.jsonl").exists()


def test_every_record_command_is_shellcheck_clean_with_its_arguments_quoted(tmp_path):
    """What the lock step, the takeover, the heartbeat and the last step send: one quoted JSON argument
    each, even with quotes, $ and newlines in the values (a reason, a step's name)."""
    from rollbook.pipeline.record import append_history, finish_command, host_command, refresh_command, takeover_command

    run = _run(tmp_path, reason="it's $HOME\n`id`", started=0.0)
    commands = [host_command(str(tmp_path), "begin", system="vision", info='{"run_id": "r2"}', approval="",
                             marker="/etc/rollbook/environment", environment="sandbox", state=state_update(run),
                             history={"reason": run.reason}),
                takeover_command(str(tmp_path), run, "{}", "0" * 64, holder()), refresh_command(str(tmp_path), run, 60),
                finish_command(str(tmp_path), run, "converged"), failure_command(str(tmp_path), run, "a 'step'"),
                append_history(str(tmp_path), {"why": "x'; rm -rf /"}, inline=True)]
    for index, text in enumerate(commands):
        script = tmp_path / f"command-{index}.sh"
        script.write_text("#!/bin/sh\n" + text + "\n")
        # SC2016: a $ inside single quotes is data here, never to expand (that is the quoting's point)
        done = subprocess.run(["shellcheck", "-s", "sh", "-e", "SC2016", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
