"""Every shared host operation as data: ``<module>.<operation>/<case>.json`` holds kwargs and the commands expected."""

from pathlib import Path

import pytest

from rollbook.host import code, envfile, files, postgres, redis, service
from rollbook.host.timeouts import Timeouts

from ..harness import cases, op_commands

HERE = Path(__file__).parent
OPERATIONS = {
    "envfile.keys": envfile.keys,
    "files.content": files.content,
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
    kwargs = {key: ARGUMENTS[key](value) if key in ARGUMENTS else value for key, value in case["kwargs"].items()}
    assert op_commands(OPERATIONS[name], **kwargs) == case["commands"]


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
    (tmp_path / "my app.env.backup.20261126T090001.000000Z").write_text("this run\n")
    found = subprocess.run(["sh", "-c", pick], capture_output=True, text=True).stdout.strip()
    assert found == str(tmp_path / "my app.env.backup.20261126T090001.000000Z")
