"""Drift: does every host hold the state rollbook recorded for it? Optionally converge it back.

A check is a ``--dry`` run of ``deploys/converge.py``: read-only in every environment, no approval,
nothing written on a host or in its history. pyinfra's ``--dry`` exits 0 whatever it finds, so the
check reads the run's own plan (``rollbook.pipeline.plan``): a host and system with an operation
that would change something has drifted. A correction converges only to the recorded state (no new
approval) and is checked again::

    report = check("inventories/prod.py", system="vision")
    report.code        # 0 converged, 2 drift found, 1 error
    report.drift       # [Drifted(host, system, steps, changes, units), ...]
    prometheus(report) # 'rollbook_drift{system="vision",host="vision-1"} 1' ...
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .paths import checkout
from .systems import SYSTEMS

REPO = checkout()
CONVERGE = "deploys/converge.py"
CONVERGED, ERROR, DRIFT = 0, 1, 2
PLAN_FILE = "ROLLBOOK_PLAN_FILE"  # the pipeline writes a --dry run's plan there
_HOST_LINE = re.compile(r"^\s*\[(?P<host>[^\]]+)\]\s+(?P<text>.+)$")
_NO_RECORD = re.compile(r"(?P<system>[a-z0-9_]+): no recorded state")
_UNREACHABLE = ("Could not connect", "SSH error", "Connection error", "Authentication error")


@dataclass
class Drifted:
    host: str
    system: str
    steps: list[str]  # the operations that would change it back
    changes: list[str]  # what differs (secret values masked)
    units: list[str] = field(default_factory=list)  # the units the host holds in another state than recorded


@dataclass
class Report:
    code: int
    drift: list[Drifted] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (host, system) inspected
    unrecorded: list[tuple[str, str]] = field(default_factory=list)  # (host, system) with no recorded state
    error: str = ""


def _pyinfra(inventory: str, *args: str, plan_file: str | None = None) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("pyinfra")), *args, inventory, CONVERGE]
    env = {**os.environ, **({PLAN_FILE: plan_file} if plan_file else {})}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)


def _limit(system: str | None, limit: str | None = None) -> list[str]:
    """pyinfra's ``--limit``: the given host or group, else the system's group, else every host."""
    if system is not None and system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r} (known: {', '.join(sorted(SYSTEMS))})")
    if limit:
        return ["--limit", limit]
    return ["--limit", SYSTEMS[system].group] if system else []


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


def _unrecorded(stderr: str) -> list[tuple[str, str]]:
    found = []
    for line in stderr.splitlines():
        match = _HOST_LINE.match(line)
        said = _NO_RECORD.search(match["text"]) if match else None
        if said and (match["host"], said["system"]) not in found:
            found.append((match["host"], said["system"]))
    return found


def check(inventory: str, system: str | None = None, limit: str | None = None) -> Report:
    """Plan a converge run (``--dry``) and report what would change (``limit``: a host or group)."""
    if not Path(REPO, inventory).is_file():
        return Report(ERROR, error=f"no inventory file {inventory}")
    limit = _limit(system, limit)
    with tempfile.TemporaryDirectory() as folder:
        plan_file = str(Path(folder) / "plan.json")
        done = _pyinfra(inventory, "--dry", *limit, plan_file=plan_file)
        document = json.loads(Path(plan_file).read_text()) if Path(plan_file).is_file() else {"plan": {}}
    lost = unreachable(done.stderr)
    if lost:
        return Report(ERROR, error=f"could not reach {', '.join(lost)}: their state is unknown")
    if done.returncode != 0:
        return Report(ERROR, error=_last_error(done.stderr))
    report = Report(CONVERGED, unrecorded=_unrecorded(done.stderr))
    for host, systems in sorted(document["plan"].items()):
        for name, plan in sorted(systems.items()):
            report.checked.append((host, name))
            if plan["steps"]:
                report.drift.append(Drifted(host, name, plan["steps"], plan["changes"], plan.get("differ", [])))
    wanted = [system] if system else sorted(SYSTEMS)
    seen = {name for _, name in report.checked + report.unrecorded}
    if system and system not in seen:
        return Report(ERROR, error=f"{system}: no host of group {SYSTEMS[system].group} was inspected "
                                   f"in {inventory}: its state is unknown")
    missing = [name for name in wanted if name not in seen and hosts_of(inventory, name, limit)]
    if missing:
        return Report(ERROR, error=f"{', '.join(missing)}: not inspected: its state is unknown")
    report.code = DRIFT if report.drift else CONVERGED
    return report


def hosts_of(inventory: str, system: str, limit: list[str] | None = None) -> list[str]:
    """The inventory's hosts of ``system``'s group, within pyinfra's ``--limit`` (no connection made)."""
    from .remote import load_inventory

    chosen = limit[1] if limit else None
    return [host.name for host in load_inventory(inventory) if SYSTEMS[system].group in host.groups
            and (chosen is None or chosen == host.name or chosen in host.groups)]


def correct(inventory: str, system: str | None = None, limit: str | None = None) -> Report:
    """Converge the drifting hosts back to their recorded state (a drift correction), then check again."""
    if not Path(REPO, inventory).is_file():
        return Report(ERROR, error=f"no inventory file {inventory}")
    done = _pyinfra(inventory, "-y", "--data", "rollbook_drift_correction=true", *_limit(system, limit))
    lost = unreachable(done.stderr)
    if done.returncode != 0 or lost:
        return Report(ERROR, error=f"could not reach {', '.join(lost)}" if lost else _last_error(done.stderr))
    return check(inventory, system, limit)


def render(report: Report) -> str:
    unrecorded = [f"  {host}  {system}  no recorded state (left alone)" for host, system in report.unrecorded]
    if report.code == ERROR:
        return f"drift check failed: {report.error}"
    if report.code == CONVERGED:
        return "\n".join(["converged: every host holds its recorded state"] + unrecorded)
    lines = [f"drift on {len({d.host for d in report.drift})} host(s):"]
    for drifted in report.drift:
        units = f"unit {', '.join(drifted.units)}: " if drifted.units else ""
        lines.append(f"  {drifted.host}  {drifted.system}  {units}" + "; ".join(drifted.steps))
        lines += [f"    {change}" for change in drifted.changes]
    return "\n".join(lines + unrecorded)


def as_json(report: Report) -> str:
    return json.dumps({"code": report.code, "result": {CONVERGED: "converged", DRIFT: "drift", ERROR: "error"}[report.code],
                       "error": report.error, "drift": [asdict(d) for d in report.drift],
                       "checked": [{"host": h, "system": s} for h, s in report.checked],
                       "no_recorded_state": [{"host": h, "system": s} for h, s in report.unrecorded]},
                      indent=2, sort_keys=True)


def prometheus(report: Report) -> str:
    """node_exporter's textfile format: ``rollbook_drift{system,host}`` 0 or 1 for each host and system
    checked, ``rollbook_drift_unit{system,host,unit} 1`` for each unit that drifted, and
    ``rollbook_drift_check_success`` 0 or 1."""
    drifted = {(d.host, d.system) for d in report.drift}
    lines = ["# HELP rollbook_drift 1 when the host does not hold the state rollbook recorded for the system.",
             "# TYPE rollbook_drift gauge"]
    lines += [f'rollbook_drift{{system="{system}",host="{host}"}} {int((host, system) in drifted)}'
              for host, system in report.checked]
    lines += ["# HELP rollbook_drift_unit 1 for each unit the host holds in another state than recorded.",
              "# TYPE rollbook_drift_unit gauge"]
    lines += [f'rollbook_drift_unit{{system="{d.system}",host="{d.host}",unit="{unit}"}} 1'
              for d in report.drift for unit in d.units]
    lines += ["# HELP rollbook_drift_check_success 1 when the last drift check ran to the end.",
              "# TYPE rollbook_drift_check_success gauge",
              f"rollbook_drift_check_success {int(report.code != ERROR)}"]
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str):
    """Write ``text`` to ``path`` by a rename, so node_exporter never reads half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")
    staged.write_text(text)
    os.replace(staged, target)
