"""Drift: does every host hold the state rollbook recorded for it? Optionally converge it back.

A check reads the plan of a ``--dry`` run of ``deploys/converge.py``: a host and system with an
operation that would change something has drifted; an unreachable host, a failed probe or a check
that inspected no host is an error naming the host (exit 1), never drift and never "converged"::

    report = check("inventories/prod.py", system="vision")
    report.code        # 0 converged, 2 drift found, 1 error
    check("inventories/prod.py", shard=Shard(1, 4))   # only the hosts of shard 1/4 (rollbook.cli.shards)
    outcomes(report)   # [{"host": "vision-1", "system": "vision", "result": "drift", ...}, ...]
    write_textfile("/var/lib/rollbook-drift/textfile/rollbook.prom", report)
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..core.paths import checkout
from ..core.run_notice import NOTICE_FILE
from ..pipeline import DRIFT_CORRECTION, PLAN_FILE
from ..systems import SYSTEMS
from .shards import EmptyShard, Shard, limit_args, selected

REPO = checkout()
CONVERGE = "deploys/converge.py"
CONVERGED, ERROR, DRIFT = 0, 1, 2
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HOST_LINE = re.compile(r"^\s*\[(?P<host>[^\]]+)\]\s+(?P<text>.+)$")
_NO_RECORD = re.compile(r"(?P<system>[a-z0-9_]+): no recorded state")
# What pyinfra's connectors say of a host they could not connect to; any connect-stage host line other
# than "Connected" counts too.
CONNECT_FAILURES = ("Could not connect", "Could not resolve hostname", "SSH error", "SSH host key error",
                    "Authentication error", "EOF error", "Connection error", "Connection refused",
                    "Connection timed out", "No route to host")
# What pyinfra says of a host it reached but could not probe (a fact that failed, a command that timed out).
NOT_READY = ("Error", "Command timed out", "Unexpected error")
# a host and system whose state is unknown, by its result: the stage that decided, how an error names it
_UNKNOWN = {"unreachable": ("connect", "could not reach {host} ({reason})"),
            "not_ready": ("probe", "{host} not ready ({reason})"),
            "not_inspected": ("plan", "{host} not inspected ({systems})")}


@dataclass
class Drifted:
    host: str
    system: str
    steps: list[str]  # the operations that would change it back
    changes: list[str]  # what differs (secret values masked)
    units: list[str] = field(default_factory=list)  # the units the host holds in another state than recorded


@dataclass
class Failed:
    """A host and system whose state is unknown: ``result`` unreachable, not_ready or not_inspected."""

    host: str
    system: str
    result: str
    reason: str  # what pyinfra said


@dataclass
class Report:
    code: int
    drift: list[Drifted] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (host, system) inspected
    unrecorded: list[tuple[str, str]] = field(default_factory=list)  # (host, system) with no recorded state
    error: str = ""
    failed: list[Failed] = field(default_factory=list)  # (host, system) whose state is unknown
    states: dict = field(default_factory=dict)  # (host, system) -> {unit: state} the plan converges it to
    notices: list = field(default_factory=list)  # a correction run's notices ({text, result, line}: run_notice)
    note: str = ""  # what a check that had nothing to do says instead (an empty shard)


def _pyinfra(inventory: str, *args: str, plan_file: str | None = None, deploy: str = CONVERGE,
             notice_file: str | None = None) -> subprocess.CompletedProcess:
    """pyinfra on ``deploy``, never asking: stdin closed, a session of its own (no terminal for a getpass),
    the caller's ``PYINFRA_YES`` ignored (``-y`` would switch off the change detection a plan is made of)."""
    cmd = [str(Path(sys.executable).with_name("pyinfra")), *args, inventory, deploy]
    env = {key: value for key, value in os.environ.items() if key != "PYINFRA_YES"}
    env.update({"PYINFRA_PROGRESS": "off", **({PLAN_FILE: plan_file} if plan_file else {}),
                **({NOTICE_FILE: notice_file} if notice_file else {})})
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, start_new_session=True)


def _limit(system: str | None, limit: str | None = None) -> list[str]:
    """pyinfra's ``--limit``: the given host or group, else the system's group, else every host."""
    if system is not None and system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r} (known: {', '.join(sorted(SYSTEMS))})")
    group = limit or (SYSTEMS[system].group if system else None)
    return ["--limit", group] if group else []


def _hosts(inventory: str) -> dict[str, tuple[str, ...]]:
    """``{host: its groups}`` of the inventory, as pyinfra reads it (no connection made)."""
    from .remote import load_inventory

    return {host.name: tuple(host.groups) for host in load_inventory(str(Path(REPO, inventory)))}


def _scope(inventory: str, system: str | None, limit: str | None, shard: Shard | None) -> list[str] | Report:
    """pyinfra's ``--limit`` arguments of a check (``_limit``'s, narrowed to the hosts of ``shard``), or the
    report of a check with nothing to run: no inventory file (an error), an empty shard (converged, saying so)."""
    if not Path(REPO, inventory).is_file():
        return Report(ERROR, error=f"no inventory file {inventory}")
    args = _limit(system, limit)
    try:
        return args if shard is None else limit_args(_hosts(inventory), args, shard, inventory)
    except EmptyShard as said:
        return Report(CONVERGED, note=str(said))


def _last_error(text: str) -> str:
    said = [line.strip() for line in _lines(text) if line.strip()]
    return ([line for line in said if "error" in line.lower()] or said or ["pyinfra failed"])[-1]


def _lines(stderr: str) -> list[str]:
    return _ANSI.sub("", stderr).splitlines()


def _host_lines(stderr: str):
    """``(host, text, connecting)`` for each line pyinfra prefixed with a host name."""
    connecting = False
    for line in _lines(stderr):
        if "-->" in line:
            connecting = "--> Connecting to hosts" in line
            continue
        match = _HOST_LINE.match(line)
        if match:
            yield match["host"], match["text"].strip(), connecting


def unreachable_hosts(stderr: str) -> dict[str, str]:
    """``{host: what pyinfra said}`` for each host pyinfra could not connect to (left out of the plan).

    >>> unreachable_hosts("[vision-1] Could not resolve hostname ([Errno -2] Name or service not known)")
    {'vision-1': 'Could not resolve hostname ([Errno -2] Name or service not known)'}
    """
    return _first_said((name, text) for name, text, connecting in _host_lines(stderr)
                       if text.startswith(CONNECT_FAILURES) or (connecting and not text.startswith("Connected")))


def unreachable(stderr: str) -> list[str]:
    """The hosts pyinfra could not connect to, in the order it said so."""
    return list(unreachable_hosts(stderr))


def not_ready(stderr: str) -> dict[str, str]:
    """``{host: what pyinfra said}`` for each host pyinfra reached but could not probe (state unknown).

    >>> not_ready("[vision-1] Error: could not load fact: rollbook.host.Env")
    {'vision-1': 'Error: could not load fact: rollbook.host.Env'}
    """
    lost = unreachable_hosts(stderr)
    return _first_said((name, text) for name, text, _ in _host_lines(stderr)
                       if name not in lost and text.startswith(NOT_READY) and not text.startswith("Error (ignored"))


def _first_said(said) -> dict:
    """``{host: text}`` of ``(host, text)`` pairs: what was said first of each host."""
    hosts = {}
    for name, text in said:
        hosts.setdefault(name, text)
    return hosts


def _unrecorded(stderr: str) -> list[tuple[str, str]]:
    return list(dict.fromkeys((name, said["system"]) for name, text, _ in _host_lines(stderr)
                              if (said := _NO_RECORD.search(text))))


def targets(inventory: str, system: str | None = None, limit: list[str] | None = None) -> list[tuple[str, str]]:
    """``(host, system)`` for each host of a system's group that a check with this ``--limit`` must
    inspect, matched as pyinfra does (a group name, else a host-name pattern); no connection made."""
    hosts = _hosts(inventory)
    wanted = [system] if system else sorted(SYSTEMS)
    return [(host, name) for host in selected(hosts, limit or []) for name in wanted
            if SYSTEMS[name].group in hosts[host]]


def _concluded(report: Report) -> Report:
    """``report`` with its code: an error naming every failed host, else drift or converged."""
    if report.failed:
        return replace(report, code=ERROR, error=_failure_line(report.failed))
    return replace(report, code=DRIFT if report.drift else CONVERGED)


def check(inventory: str, system: str | None = None, limit: str | None = None, shard: Shard | None = None) -> Report:
    """Plan a converge run (``--dry``) and report what would change (``limit``: a host or group; ``shard``:
    only its hosts, an empty shard is converged and says so); drift found is confirmed by a second plan
    at once (``confirmed``)."""
    scope = _scope(inventory, system, limit, shard)
    if isinstance(scope, Report):
        return scope
    first = _planned(inventory, system, scope)
    return confirmed(first, _planned(inventory, system, scope)) if first.drift else first


def confirmed(first: Report, second: Report) -> Report:
    """``second``, with drift only where ``first`` found the same drift; drift in one of them alone (a
    service restarting, a probe slowed by load) is not ready, never drift::

        confirmed(Report(2, drift=[d]), Report(0, checked=[("vision-1", "vision")]))   # vision-1 not ready
    """
    before = {(d.host, d.system): (d.steps, d.changes) for d in first.drift}
    now = {(d.host, d.system): (d.steps, d.changes) for d in second.drift}
    unsettled = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key)
                       and key in set(first.checked) | set(before) and key in set(second.checked) | set(now))
    settling = [Failed(host, name, "not_ready", "differed on one plan and not on the next (still settling)")
                for host, name in unsettled]  # a plan's failed hosts are neither checked nor drifting
    report = replace(second, checked=[key for key in second.checked if key not in unsettled],
                     drift=[d for d in second.drift if (d.host, d.system) not in unsettled],
                     failed=second.failed + settling)
    return report if second.code == ERROR and not second.failed else _concluded(report)


def _planned(inventory: str, system: str | None, limit: list[str]) -> Report:
    """One ``--dry`` plan of the converge run (``limit``: pyinfra's ``--limit`` arguments), read as a report."""
    with tempfile.TemporaryDirectory() as folder:
        plan_file = str(Path(folder) / "plan.json")
        done = _pyinfra(inventory, "--dry", "--json", *limit, plan_file=plan_file)
        document = json.loads(Path(plan_file).read_text()) if Path(plan_file).is_file() else {"plan": {}}
    lost, troubled = unreachable_hosts(done.stderr), not_ready(done.stderr)
    report = Report(CONVERGED, failed=[Failed(host, "", "unreachable", said) for host, said in lost.items()]
                    + [Failed(host, "", "not_ready", said) for host, said in troubled.items()],
                    unrecorded=[key for key in _unrecorded(done.stderr) if key[0] not in lost | troubled])
    for host, systems in sorted(document["plan"].items()):
        if host in lost | troubled:
            continue  # what pyinfra planned for a host it could not probe says nothing about the host
        for name, plan in sorted(systems.items()):
            report.checked.append((host, name))
            report.states[(host, name)] = dict(plan.get("units") or {})
            if plan["steps"]:
                report.drift.append(Drifted(host, name, plan["steps"], plan["changes"], plan.get("differ", [])))
    if done.returncode != 0 and not report.failed:
        return replace(report, code=ERROR, error=_last_error(done.stderr))
    try:
        expected = targets(inventory, system, limit)
    except Exception as error:  # the inventory pyinfra just read; a failure here is an error, not "converged"
        return replace(report, code=ERROR, error=f"could not read {inventory}: {error}")
    # an unreachable or unprobed host stands for each of its systems the check had to inspect
    report.failed = [Failed(failed.host, name, failed.result, failed.reason) for failed in report.failed
                     for name in ([name for host, name in expected if host == failed.host] or [failed.system])]
    seen = set(report.checked) | set(report.unrecorded) | {(f.host, f.system) for f in report.failed}
    report.failed += [Failed(host, name, "not_inspected", "not in the run's plan") for host, name in expected
                      if (host, name) not in seen]
    if not report.checked and not report.unrecorded and not report.failed:
        where = f"--limit {' '.join(limit[1::2])}" if limit else "the inventory"
        scope = f"host of group {SYSTEMS[system].group}" if system else "host of any system"
        return replace(report, code=ERROR, error=f"no host was checked: {where} selects no {scope} in {inventory}: "
                       "nothing is known to be converged")
    return _concluded(report)


def _failure_line(failed: list[Failed]) -> str:
    """One line naming every host whose state is unknown and why."""
    parts = []
    for host, item in _first_said((item.host, item) for item in failed).items():
        systems = ", ".join(f.system for f in failed if f.host == host and f.result == "not_inspected")
        parts.append(_UNKNOWN[item.result][1].format(host=host, reason=item.reason, systems=systems))
    return "; ".join(parts) + ": their state is unknown"


def correct(inventory: str, system: str | None = None, limit: str | None = None, shard: Shard | None = None) -> Report:
    """Converge the drifting hosts back to their recorded state (a drift correction), then check again;
    the correction run's notices (``drift corrected``, a failed verification, ...) are in ``notices``."""
    scope = _scope(inventory, system, limit, shard)
    if isinstance(scope, Report):
        return scope
    with tempfile.TemporaryDirectory() as folder:
        notice_file = Path(folder) / "notices.json"
        done = _pyinfra(inventory, "-y", *scope, deploy=DRIFT_CORRECTION, notice_file=str(notice_file))
        notices = json.loads(notice_file.read_text()) if notice_file.is_file() else []
    failed = [Failed(host, "", "unreachable", said) for host, said in unreachable_hosts(done.stderr).items()]
    if failed:
        return Report(ERROR, error=_failure_line(failed), failed=failed, notices=notices)
    if done.returncode != 0:
        return Report(ERROR, error=_last_error(done.stderr), notices=notices)
    return replace(check(inventory, system, limit, shard), notices=notices)


def _outcome(host: str, system: str, result: str, decided_by: str, found: Drifted | None = None,
             recorded: dict | None = None, reason: str = "") -> dict:
    return asdict(found or Drifted(host, system, [], [])) | {"result": result, "decided_by": decided_by,
                                                              "recorded": recorded or {}, "reason": reason}


def outcomes(report: Report) -> list[dict]:
    """One entry per host and system: its ``result`` (converged, drift, no_recorded_state, unreachable,
    not_ready, not_inspected), the check that decided (``decided_by``) and what it saw."""
    plan = f"plan of {CONVERGE} --dry"
    drifted = {(d.host, d.system): d for d in report.drift}
    entries = []
    for host, system in report.checked:
        found = drifted.get((host, system))
        said = (f"{len(found.steps)} operation(s) would change the host" if found
                else "no operation would change the host")
        entries.append(_outcome(host, system, "drift" if found else "converged", f"{plan}: {said}", found,
                                report.states.get((host, system))))
    entries += [_outcome(d.host, d.system, "drift", plan, d) for d in report.drift  # a report built without a plan
                if (d.host, d.system) not in report.checked]
    entries += [_outcome(host, system, "no_recorded_state", "no authorized run recorded a state: left alone")
                for host, system in report.unrecorded]
    entries += [_outcome(f.host, f.system, f.result, f"{_UNKNOWN[f.result][0]}: {f.reason}", reason=f.reason)
                for f in report.failed]
    return sorted(entries, key=lambda entry: (entry["host"], entry["system"]))


def render(report: Report) -> str:
    unrecorded = [f"  {host}  {system}  no recorded state (left alone)" for host, system in report.unrecorded]
    if report.code == CONVERGED:
        said = report.note or "converged: every host holds its recorded state"
        return "\n".join([said] + unrecorded)
    lines = [f"drift check failed: {report.error}"] if report.code == ERROR else []
    if lines and not report.drift:
        return lines[0]
    lines.append(f"drift on {len({d.host for d in report.drift})} host(s):")
    for drifted in report.drift:
        units = f"unit {', '.join(drifted.units)}: " if drifted.units else ""
        lines.append(f"  {drifted.host}  {drifted.system}  {units}" + "; ".join(drifted.steps))
        lines += [f"    {change}" for change in drifted.changes]
    return "\n".join(lines + unrecorded)


def as_json(report: Report) -> str:
    return json.dumps({"code": report.code, "result": {CONVERGED: "converged", DRIFT: "drift", ERROR: "error"}[report.code],
                       "error": report.error, "note": report.note, "drift": [asdict(d) for d in report.drift],
                       "checked": [{"host": h, "system": s} for h, s in report.checked],
                       "no_recorded_state": [{"host": h, "system": s} for h, s in report.unrecorded],
                       "hosts": outcomes(report)},
                      indent=2, sort_keys=True)


# the textfile's gauges: name -> (help, labels)
GAUGES = {
    "rollbook_drift": ("1 when the host does not hold the state rollbook recorded for the system.",
                       ("system", "host")),
    "rollbook_drift_unit": ("1 for each unit the host holds in another state than recorded.",
                            ("system", "host", "unit")),
    "rollbook_drift_check_success": ("1 when the last drift check ran to the end.", ()),
    "rollbook_drift_last_run_timestamp_seconds": ("When the last drift check ended.", ()),
    "rollbook_drift_last_success_timestamp_seconds": ("When a drift check last ran to the end.", ()),
}


def _previous(text: str | None) -> dict:
    """``{gauge: {labels: value}}`` of a previous textfile, empty unless it is Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        samples = [sample for family in text_string_to_metric_families(text or "") for sample in family.samples]
    except ValueError:
        samples = []
    kept = {name: {} for name in GAUGES}
    for sample in samples:
        if sample.name in kept:
            labels = tuple(sample.labels.get(label, "") for label in GAUGES[sample.name][1])
            kept[sample.name][labels] = float(sample.value)
    return kept


def prometheus(report: Report, previous: str | None = None, now: float | None = None, shard: str = "") -> str:
    """node_exporter's textfile format (the ``GAUGES``, each series labelled ``shard="I/N"`` when ``shard``
    is given); a failed check carries the series of the ``previous`` textfile over (but where it did inspect
    a host and system) and its last success timestamp::

        >>> text = prometheus(Report(CONVERGED, checked=[("vision-1", "vision")]), now=1700000000)
        >>> 'rollbook_drift{host="vision-1",system="vision"} 0.0' in text
        True
    """
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    now = time.time() if now is None else now
    ok = report.code != ERROR
    kept = _previous(None if ok else previous)
    checked, drifted = set(report.checked), {(d.host, d.system) for d in report.drift}
    units = {key: value for key, value in kept["rollbook_drift_unit"].items() if (key[1], key[0]) not in checked}
    values = {
        "rollbook_drift": kept["rollbook_drift"] | {(system, host): float((host, system) in drifted)
                                                      for host, system in checked},
        "rollbook_drift_unit": units | {(d.system, d.host, unit): 1.0 for d in report.drift for unit in d.units},
        "rollbook_drift_check_success": {(): int(ok)},
        "rollbook_drift_last_run_timestamp_seconds": {(): now},
        "rollbook_drift_last_success_timestamp_seconds": {(): now} if ok else
        kept["rollbook_drift_last_success_timestamp_seconds"],
    }
    registry = CollectorRegistry()
    shard_label = {"shard": shard} if shard else {}
    for name, (text, labels) in GAUGES.items():
        if labels or values[name]:  # no success yet: no success timestamp
            gauge = Gauge(name, text, (*labels, *shard_label), registry=registry)
            for key, value in sorted(values[name].items()):
                (gauge.labels(*key, *shard_label.values()) if labels or shard else gauge).set(value)
    return generate_latest(registry).decode()


def write_textfile(path: str, report: Report, now: float | None = None, shard: str = ""):
    """Write the textfile by a rename, carrying the last known values over when the check failed
    (``shard``: the ``I/N`` label of every series, a shard's textfile)."""
    try:
        previous = Path(path).read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        previous = None
    write_atomically(path, prometheus(report, previous, now, shard))


def write_atomically(path: str, text: str):
    """Write ``text`` to ``path`` by a rename, so node_exporter never reads half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")
    staged.write_text(text)
    os.replace(staged, target)
