"""Every shared host operation as data: ``<module>.<operation>/<case>.json`` holds kwargs and the commands expected."""

from pathlib import Path

import pytest

from rollbook.host import code, envfile, files, postgres, redis, service
from rollbook.host.timeouts import Timeouts

from ..harness import case_commands, cases

HERE = Path(__file__).parent
OPERATIONS = {
    "envfile.keys": envfile.keys,
    "files.content": files.content,
    "files.copied": files.copied,
    "service.restarted_when_stale": service.restarted_when_stale,
    "redis.keys_deleted": redis.keys_deleted,
    "redis.stream_emptied": redis.stream_emptied,
    "code.lines_commented": code.lines_commented,
    "service.restarted": service.restarted,
    "postgres.script": postgres.script,
}
# JSON stand-ins for arguments that are dataclasses
ARGUMENTS = {"timeouts": lambda value: Timeouts(**value), "restore": lambda value: service.Restore(**value)}
CASES = [(name, case_name, case) for name in OPERATIONS for case_name, case in cases(HERE / name)]


def test_every_operation_has_cases():
    assert all((HERE / name).is_dir() and list((HERE / name).glob("*.json")) for name in OPERATIONS)


@pytest.mark.parametrize("name, case_name, case", CASES, ids=[f"{n}/{c}" for n, c, _ in CASES])
def test_operation_yields_the_expected_commands(name, case_name, case):
    assert case_commands(OPERATIONS, ARGUMENTS, name, case) == case["commands"]


def test_the_restore_picks_this_run_s_backup_never_an_older_run_s(tmp_path):
    import subprocess

    env = tmp_path / "my app.env"
    env.write_text("A=1\n")
    for stamp in ("20261101T000000.000001Z", "20261120T000000.000001Z"):  # two earlier runs' backups
        (tmp_path / f"my app.env.backup.{stamp}").write_text("old\n")
    started = tmp_path / "run.started"
    started.write_text("20261126T090000.000000Z\n")
    pick = f"{service.this_runs_backup(str(env), str(started))}; echo \"$b\""
    assert subprocess.run(["sh", "-c", pick], capture_output=True, text=True).stdout.strip() == ""
    (tmp_path / "my app.env.backup.20261126T090001.000000Z").write_text("this run, before it\n")
    (tmp_path / "my app.env.backup.20261126T090002.000000Z").write_text("this run, between two of its steps\n")
    found = subprocess.run(["sh", "-c", pick], capture_output=True, text=True).stdout.strip()
    assert found == str(tmp_path / "my app.env.backup.20261126T090001.000000Z")


def test_a_failed_start_gets_this_run_s_backups_of_every_changed_file_back(tmp_path):
    """restore_command run for real with stand-in systemctl and readiness: main.py (no keys to
    compare) comes back from this run's backup, the env file this run did not change stays."""
    import os
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "systemctl").chmod(0o755)
    main, env, started = tmp_path / "main.py", tmp_path / "server.env", tmp_path / "run.started"
    main.write_text("POISON\n")  # what this run wrote, and the server does not start on
    env.write_text("STREAMING_ENABLED=true\n")
    (tmp_path / "main.py.backup.20261101T000000.000001Z").write_text("an older run's\n")
    started.write_text("20261126T090000.000000Z\n")
    (tmp_path / "main.py.backup.20261126T090001.000000Z").write_text("good\n")  # this run's
    marker = tmp_path / "private" / "r.restored"
    restore = service.Restore(env_file=str(env), keys=(), marker=str(marker), started=str(started),
                              also=(str(main),))
    ready = f"! grep -q POISON {main}"
    done = subprocess.run(["sh", "-c", str(service.restore_command("systemd", "phase17-server", "", ready, restore))],
                          capture_output=True, text=True, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 1  # the step fails either way
    assert main.read_text() == "good\n" and env.read_text() == "STREAMING_ENABLED=true\n"
    assert f"restored {main} from {main}.backup.20261126T090001.000000Z" in done.stderr
    assert "phase17-server is ready on the restored" in done.stderr
    assert marker.read_text().strip() == f"{main}.backup.20261126T090001.000000Z"
    assert [p.name for p in tmp_path.glob("main.py.failed.*")] and not list(tmp_path.glob("server.env.failed.*"))


def test_a_failed_start_gets_this_run_s_kept_trees_back(tmp_path):
    """A code tree and a virtualenv this run replaced come back from the copies it kept first
    (``<tree>.backup.<stamp>``); what failed is kept as ``<tree>.failed.<stamp>``; no env file to compare."""
    import os
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "systemctl").chmod(0o755)
    code, venv, started = tmp_path / "voice_v2", tmp_path / "venv", tmp_path / "run.started"
    for tree, text in ((code, "BROKEN"), (venv, "new")):
        tree.mkdir()
        (tree / "server.py").write_text(text + "\n")
    started.write_text("20261126T090000.000000Z\n")
    (tmp_path / "voice_v2.backup.20261101T000000.000001Z").mkdir()  # an older run's: never picked
    for tree in (code, venv):
        kept = tmp_path / f"{tree.name}.backup.20261126T090001.000000Z"
        kept.mkdir()
        (kept / "server.py").write_text("good\n")
    restore = service.Restore(env_file="", keys=(), marker=str(tmp_path / "r.restored"), started=str(started),
                              also=(str(code), str(venv)))
    ready = f"! grep -q BROKEN {code}/server.py"
    done = subprocess.run(["sh", "-c", str(service.restore_command("systemd", "voice-v2-service", "", ready, restore))],
                          capture_output=True, text=True, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 1 and "voice-v2-service is ready on the restored" in done.stderr, done.stderr
    assert (code / "server.py").read_text() == "good\n" and (venv / "server.py").read_text() == "good\n"
    failed = list(tmp_path.glob("voice_v2.failed.*"))
    assert len(failed) == 1 and (failed[0] / "server.py").read_text() == "BROKEN\n"
