"""The command line: usage errors exit 64 (2 means drift), --version, --help lists the exit codes."""

import subprocess
import sys
from pathlib import Path

import pytest

from rollbook import __version__, cli

REPO = Path(__file__).resolve().parents[3]


def rollbook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("args", [["nosuch"], ["drift"], ["history"], ["sandbox", "sideways"], ["approve", "--hours", "x"]])
def test_a_usage_error_exits_64_never_2(args):
    done = rollbook(*args)
    assert done.returncode == cli.USAGE == 64, done.stderr


def test_version_and_help_list_the_exit_codes_and_commands():
    assert rollbook("--version").stdout.strip() == f"rollbook {__version__}"
    shown = rollbook("--help").stdout
    assert "exit codes: 0 success (drift: converged), 1 error, 2 drift found, 64 usage error" in shown
    for command in ("sandbox", "demo", "drift", "history", "incident", "approve", "schema"):
        assert command in shown


def test_drift_names_an_unknown_system_in_one_line_and_exits_1():
    done = rollbook("drift", "inventories/prod.py", "--system", "nosuch")
    assert done.returncode == 1 and done.stderr.strip().count("\n") == 0
    assert "unknown system 'nosuch'" in done.stderr


def test_the_schema_command_prints_the_reference_that_docs_holds():
    assert rollbook("schema").stdout == (REPO / "docs" / "data.md").read_text()


def test_approve_refuses_a_plan_that_is_not_one(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text("[]")
    done = rollbook("approve", "--plan", str(plan), "--approver", "a@x", "--key", "k", "--reason", "r")
    assert done.returncode == 1 and "not a plan document" in done.stderr


def test_the_virtualenv_has_the_rollbook_command():
    """`make venv` installs the project: the README's `rollbook ...` runs from the virtualenv's PATH."""
    script = Path(sys.executable).with_name("rollbook")
    assert script.is_file(), f"{script}: make venv did not install the project"
    done = subprocess.run([str(script), "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "trust-host" in done.stdout


@pytest.mark.parametrize("argv", [["sandbox", "enroll", "--as", "prod", "vision-1", "analyticbot-1"],
                                  ["sandbox", "enroll", "vision-1", "analyticbot-1", "--as", "prod"],
                                  ["sandbox", "enroll", "vision-1", "--as", "prod", "analyticbot-1"]])
def test_sandbox_enroll_takes_its_names_before_or_after_as(argv):
    args = cli._parse(argv)
    assert (args.names, args.environment) == (["vision-1", "analyticbot-1"], "prod")
