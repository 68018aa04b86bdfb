"""Every operation as data: ``<module>.<operation>/<case>.json`` holds kwargs and the commands expected."""

from pathlib import Path

import pytest

from rollbook.operations import code, envfile, files, redis, service, voice_v2
from rollbook.s3 import S3Target
from rollbook.timeouts import Timeouts

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
    **{f"voice_v2.{name}": getattr(voice_v2, name) for name in (
        "tree_restored", "file_restored", "checked_out_clean", "requirements_installed", "venv_restored",
        "image_tag_set")},
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


def test_file_recovery_copies_nothing_when_nothing_differs_and_one_function_otherwise():
    target = S3Target(endpoint="http://127.0.0.1:1", bucket="b", region="us-east-1", access_key="k", secret_key="s")
    kwargs = dict(source=target, source_prefix="2025-08-02/", dest=target, dest_prefix="")
    assert op_commands(voice_v2.files_recovered, count=0, **kwargs) == []
    [command] = op_commands(voice_v2.files_recovered, count=3, **kwargs)
    assert command.function is voice_v2._recover and command.args[1] == "2025-08-02/"
