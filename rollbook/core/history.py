"""History records (``history.jsonl`` on each host: ``started``, ``finished``, ``refused``; no secret
values) and their readings::

    rows = runs_of(records)          # one row per (host, run, system), started + finished merged
    print(table(rows))               # the runbook's Rollback History table
"""

import json

from .runs import CONSOLE_RUN, HostRun, utc_now

COLUMNS = ("Date", "Host", "Environment", "System", "Kind", "Scope", "Operator", "Authorized by", "Reason",
           "Duration", "Outcome", "Run")


def _record(event: str, run: HostRun, **fields) -> dict:
    return {"event": event, "at": utc_now(), "run_id": run.run_id, "system": run.system, "kind": run.kind,
            "deploy": run.deploy, "environment": run.environment, "operator": run.operator, "scope": run.scope,
            "authorization": run.authorization, "reason": run.reason,
            **({"console_run": CONSOLE_RUN} if CONSOLE_RUN else {}), **fields}


def started(run: HostRun, takeover_of: dict | None = None) -> dict:
    record = _record("started", run, state_before=run.units_before, state_after=run.units_after)
    if takeover_of:
        record["took_over_stale_lock_of"] = takeover_of
    return record


def finished(run: HostRun, outcome: str, duration: float, failed_step: str = "") -> dict:
    record = _record("finished", run, outcome=outcome, duration_s=round(duration, 1), state_before=run.units_before,
                     state_after=run.units_after, changes=run.changes, cleanup=run.cleanup, baseline=run.baseline,
                     verify={"passed": run.verified, "checks": run.verify})
    if failed_step:
        record["failed_step"] = failed_step
    if run.diagnostics:
        record["diagnostics"] = run.diagnostics
    return record


def refused(run: HostRun, why: str) -> dict:
    return _record("refused", run, outcome="refused", refused_because=why)


def line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def parse(text: str, host: str) -> list[dict]:
    records = []
    for raw in text.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        records.append({**record, "host": host})
    return records


def runs_of(records: list[dict]) -> list[dict]:
    """One row per (host, run, system): the started record completed by its finished or refused one."""
    rows: dict[tuple, dict] = {}
    for record in records:
        key = (record["host"], record["run_id"], record["system"])
        row = rows.setdefault(key, {"outcome": "interrupted (no finish recorded)"})
        row.update(record)
        if record["event"] == "started":
            row["started_at"] = record["at"]
    return sorted(rows.values(), key=lambda row: (row.get("started_at") or row["at"], row["host"]))


def authorized_by(row: dict) -> str:
    auth = row.get("authorization") or {}
    if auth.get("mode") == "approval":
        return auth.get("approver", "?")
    if auth.get("mode") == "emergency":
        return f"emergency {auth.get('level')} by {auth.get('oncall')} (notify: {auth.get('notification')})"
    return auth.get("mode", "-")


def cells(row: dict) -> list[str]:
    scope = ",".join(f"{key}={value}" for key, value in sorted((row.get("scope") or {}).items()))
    duration = f"{row['duration_s']}s" if "duration_s" in row else "-"
    outcome = row.get("outcome", "-")
    if row.get("event") == "refused":
        outcome = f"refused: {row.get('refused_because')}"
    return [row.get("started_at") or row["at"], row["host"], row.get("environment", "-"), row.get("system", "-"),
            row.get("kind", "-"), scope or "-", row.get("operator", "-"), authorized_by(row),
            row.get("reason") or "-", duration, outcome, row["run_id"]]


def table(rows: list[dict]) -> str:
    """The runbook's Rollback History table (Markdown)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell).replace("|", "/") for cell in cells(row)) + " |")
    return "\n".join(lines)


def incident_report(rows: list[dict], host: str, run_id: str, after: dict[str, tuple]) -> str:
    """The report of one run on ``host`` from its history rows (``runs_of``): who and when, the timeline,
    each system's changes, cleanup, verification and service log, then its runbook's post-rollback
    checklist (``after``: system -> ``System.after``), the steps its verification showed ticked::

        incident_report(rows, "vision-1", "20261123T181503Z-ab12cd", rollbook.systems.post_rollback())
    """
    from .templates import render

    return render("incident_report.md.j2", runs=rows, host=host, run_id=run_id, authorized_by=authorized_by(rows[0]),
                  after=after)
