"""Run the pyinfra CLI exactly as an operator does, and read its ``--json`` results.

Example::

    run = pyinfra("inventories/sandbox.py", "deploys/vision_rollback.py", data={"vision_waves": "b"})
    run.changed        # {(operation name, host), ...} that changed something
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    payload: dict | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def changed(self) -> set[tuple[str, str]]:
        """(operation, host) pairs that changed something (a real run) or would (a dry run)."""
        if not self.payload:
            return set()
        if self.payload.get("results"):
            return {(op["name"], name) for op in self.payload["results"]["operations"] for name in op["success"]}
        return {(op["name"], name) for op in self.payload["plan"] for name in op["hosts_with_change"]}

    @property
    def refusal(self) -> str:
        """Why the run was refused, in one line: bad input stops pyinfra before any host command (its one
        "pyinfra error" line); a run a host refuses (its state, its authorization) fails that host's first
        command with "<host>: refused: ..." (the last such line). '' when neither happened."""
        lines = self.output.splitlines()
        refused = [line.strip() for line in lines if ": refused: " in line and "pyinfra error" not in line]
        if refused:
            return refused[-1]
        errors = [line for line in lines if "pyinfra error" in line]
        return errors[0] if len(errors) == 1 else ""

    @property
    def failed(self) -> set[tuple[str, str]]:
        results = (self.payload or {}).get("results") or {"operations": []}
        return {(op["name"], name) for op in results["operations"] for name in op["error"]}


def command(inventory: str, deploy: str, *extra: str, data: dict | None = None, dry: bool = False,
            limit: str | None = None, json_output: bool = True) -> list[str]:
    cmd = [PYINFRA, "--dry" if dry else "-y"]
    if json_output:
        cmd.append("--json")
    if limit:
        cmd += ["--limit", limit]
    for key, value in (data or {}).items():
        cmd += ["--data", f"{key}={value}"]
    return cmd + [inventory, deploy, *extra]


def pyinfra(inventory: str, deploy: str, *extra: str, data: dict | None = None, dry: bool = False,
            limit: str | None = None, json_output: bool = True, timeout: int = 600, env: dict | None = None) -> Run:
    cmd = command(inventory, deploy, *extra, data=data, dry=dry, limit=limit, json_output=json_output)
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return finished(done.returncode, done.stdout, done.stderr, json_output)


def finished(returncode: int, stdout: str, stderr: str, json_output: bool = True) -> Run:
    payload = None
    if json_output and stdout.strip().startswith("{"):
        payload = json.loads(stdout)
    return Run(returncode, stdout, stderr, payload)


def converged_twice(deploy, *args, **data) -> Run:
    """``deploy(*args, **data)`` twice: both succeed and the second reports no change. The first run."""
    run = deploy(*args, **data)
    assert run.returncode == 0, run.output
    again = deploy(*args, **data)
    assert again.returncode == 0, again.output
    assert again.changed == set(), again.changed
    return run
