"""Every deploy runs preflight (issue #22): each file in ``deploys/`` is run by pyinfra for real
(``--dry``, this machine through pyinfra's local connector, in every group) with a ``--data`` key
that nothing declares, and must stop with preflight's one line before any host command."""

import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.core.paths import checkout

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


def _entry_points(deploy: str) -> list:
    """The functions a deploy file calls: the names it imports from rollbook and calls at top level."""
    import ast
    import importlib

    tree = ast.parse((REPO / "deploys" / deploy).read_text())
    imported = {alias.asname or alias.name: (node.module, alias.name) for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.module.startswith("rollbook") for alias in node.names}
    called = [node.value.func.id for node in tree.body if isinstance(node, ast.Expr)
              and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)]
    return [getattr(importlib.import_module(imported[name][0]), imported[name][1]) for name in called]


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_a_deploy_takes_the_lock_and_records_its_run(deploy):
    """Each deploy's entry point goes through the pipeline: a system's run (``pipeline.run``, or every
    system's through ``converge_all``) or another deploy's (``begin_deploy`` ... ``finish_deploy``):
    authorization, lock and history, whatever the deploy."""
    import inspect

    from rollbook.systems import SYSTEMS

    functions = _entry_points(deploy)
    assert functions, f"{deploy} calls no rollbook entry point"
    for function in functions:
        source = inspect.getsource(inspect.unwrap(function))
        if "converge_all" in function.__name__:
            import importlib
            sources = [inspect.getsource(importlib.import_module(system.module + ".deploy")) for system in SYSTEMS.values()]
            assert all("pipeline.run(" in text for text in sources)
            continue
        through_pipeline = "pipeline.run(" in source
        as_a_deploy = "pipeline.begin_deploy(" in source and "pipeline.finish_deploy(" in source
        assert through_pipeline or as_a_deploy, f"{deploy}: {function.__qualname__} takes no lock, records no run"
        assert "pipeline.preflight()" in source or through_pipeline
