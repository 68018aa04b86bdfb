"""Drift: does every host hold the state rollbook recorded for it? Optionally converge it back.

pyinfra's ``--dry`` exits 0 whatever it finds, so drift reads its ``--json`` plan::

    report = check("inventories/prod.py", system="vision")
    report.drift       # [(host, system, operation, [what differs, secrets masked]), ...]
    exit code: 0 converged, 2 drift found, 1 error
"""

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .systems import SYSTEMS
from .paths import checkout

REPO = checkout()
CONVERGE = "deploys/converge.py"
CONVERGED, ERROR, DRIFT = 0, 1, 2
_HOST_LINE = re.compile(r"^\s*\[(?P<host>[^\]]+)\]\s+(?P<text>.+)$")
_PYINFRA_OWN = ("Connected", "Ready:", "Loading", "Success", "No changes", "Disconnecting")
_UNREACHABLE = ("Could not connect", "SSH error", "Connection error", "Authentication error")


@dataclass
class Report:
    code: int
    drift: list[tuple[str, str, str]] = field(default_factory=list)  # (host, system, operation)
    details: dict[str, list[str]] = field(default_factory=dict)  # host -> what differs
    error: str = ""


def _pyinfra(inventory: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("pyinfra")), *args, inventory, CONVERGE]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def _limit(system: str | None) -> list[str]:
    if system is None:
        return []
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r} (known: {', '.join(sorted(SYSTEMS))})")
    return ["--limit", SYSTEMS[system].group]


def _last_error(text: str) -> str:
    errors = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    return errors[-1] if errors else (text.strip().splitlines() or ["pyinfra failed"])[-1]


def unreachable(stderr: str) -> list[str]:
    """Hosts pyinfra could not connect to (it leaves them out of the plan and carries on)."""
    hosts = []
    for line in stderr.splitlines():
        match = _HOST_LINE.match(line)
        if match and match["text"].startswith(_UNREACHABLE) and match["host"] not in hosts:
            hosts.append(match["host"])
    return hosts


def check(inventory: str, system: str | None = None) -> Report:
    """Plan a converge run (``--dry --json``) and report what would change."""
    if not Path(REPO, inventory).is_file():
        return Report(ERROR, error=f"no inventory file {inventory}")
    done = _pyinfra(inventory, "--dry", "--json", *_limit(system))
    lost = unreachable(done.stderr)
    if lost:
        return Report(ERROR, error=f"could not reach {', '.join(lost)}: their state is unknown")
    if done.returncode != 0 or not done.stdout.strip().startswith("{"):
        return Report(ERROR, error=_last_error(done.stderr))
    plan = json.loads(done.stdout)["plan"]
    drift = [(name, op["name"].split(" | ")[0], op["name"]) for op in plan for name in op["hosts_with_change"]]
    details: dict[str, list[str]] = {}
    for line in done.stderr.splitlines():
        match = _HOST_LINE.match(line)
        if match and not match["text"].startswith(_PYINFRA_OWN):
            details.setdefault(match["host"], []).append(match["text"])
    drifting = {host for host, _, _ in drift}
    return Report(DRIFT if drift else CONVERGED, drift, {h: lines for h, lines in details.items() if h in drifting})


def correct(inventory: str, system: str | None = None) -> Report:
    """Converge the drifting hosts back (recorded as a drift correction), then check again."""
    if not Path(REPO, inventory).is_file():
        return Report(ERROR, error=f"no inventory file {inventory}")
    done = _pyinfra(inventory, "-y", "--data", "rollbook_drift_correction=true", *_limit(system))
    lost = unreachable(done.stderr)
    if done.returncode != 0 or lost:
        return Report(ERROR, error=f"could not reach {', '.join(lost)}" if lost else _last_error(done.stderr))
    return check(inventory, system)


def render(report: Report) -> str:
    if report.code == ERROR:
        return f"drift check failed: {report.error}"
    if report.code == CONVERGED:
        return "converged: every host holds its recorded state"
    lines = [f"drift on {len({h for h, _, _ in report.drift})} host(s):"]
    for host, system, operation in report.drift:
        lines.append(f"  {host}  {system}  {operation.split(' | ', 1)[-1]}")
    for host, said in report.details.items():
        lines += [f"  {host}: {text}" for text in said]
    return "\n".join(lines)
