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
