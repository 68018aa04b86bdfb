"""Every deploy runs preflight (issue #22): each file in ``deploys/`` is run by pyinfra for real
(``--dry``, this machine through pyinfra's local connector, in every group) with a ``--data`` key
that nothing declares, and must stop with preflight's one line before any host command."""

import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.paths import checkout

REPO = checkout()
DEPLOYS = sorted(path.name for path in (REPO / "deploys").glob("*.py"))
GROUPS = ("vision_workers", "analyticbot_api", "phase17_server", "voice_v2", "control")


def test_the_deploys_are_all_listed():
    assert {"bootstrap.py", "drift_timer.py", "converge.py", "drift_correct.py", "vision_rollback.py"} <= set(DEPLOYS)


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_a_deploy_refuses_unknown_data_in_preflight(deploy, tmp_path):
    inventory = tmp_path / "prod.py"
    inventory.write_text("".join(f'{group} = ["@local"]\n' for group in GROUPS))
    done = subprocess.run([str(Path(sys.executable).with_name("pyinfra")), "--dry", "--data", "no_such_key=1",
                           str(inventory), f"deploys/{deploy}"], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    errors = [line for line in done.stderr.splitlines() if "pyinfra error" in line]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert "unknown data key no_such_key" in errors[0], errors[0]
