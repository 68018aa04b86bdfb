"""voice-v2's own operations as data: ``operations.<operation>/<case>.json`` holds kwargs and the commands expected."""

from pathlib import Path

import pytest

from rollbook.host.s3 import S3Target
from rollbook.systems.voice_v2 import operations

from ...harness import cases, op_commands

HERE = Path(__file__).parent
OPERATIONS = {f"operations.{name}": getattr(operations, name) for name in (
    "tree_restored", "file_restored", "checked_out_clean", "requirements_installed", "image_pulled",
    "image_tag_set")}
CASES = [(name, case_name, case) for name in OPERATIONS for case_name, case in cases(HERE / name)]


def test_every_operation_has_cases():
    assert all((HERE / name).is_dir() and list((HERE / name).glob("*.json")) for name in OPERATIONS)


@pytest.mark.parametrize("name, case_name, case", CASES, ids=[f"{n}/{c}" for n, c, _ in CASES])
def test_operation_yields_the_expected_commands(name, case_name, case):
    assert op_commands(OPERATIONS[name], **case["kwargs"]) == case["commands"]


def test_file_recovery_copies_nothing_when_nothing_differs_and_one_function_otherwise():
    target = S3Target(endpoint="http://127.0.0.1:1", bucket="b", region="us-east-1", access_key="k", secret_key="s")
    kwargs = dict(source=target, source_prefix="2025-08-02/", dest=target, dest_prefix="")
    assert op_commands(operations.files_recovered, count=0, **kwargs) == []
    [command] = op_commands(operations.files_recovered, count=3, **kwargs)
    assert command.function is operations._recover and command.args[1] == "2025-08-02/"
