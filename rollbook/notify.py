"""Notifications: an emergency override (once per run, when it starts changing hosts; a ``--dry``
run never notifies) and a drift check that found drift or failed. The body is JSON with a ``text``
field (what a Slack or Teams incoming webhook shows) and the facts as fields beside it::

    run.authorization["notification"] = emergency(run, "https://hooks.example/rollbook")   # 'sent (200)'
    drift("https://hooks.example/rollbook", "inventories/prod.py", report)                  # 'sent (200)'
"""

import json
import urllib.request

from .runs import HostRun

_said: dict[str, str] = {}  # webhook -> what happened, for this run (one call for all hosts)


def emergency(run: HostRun, url: str | None) -> str:
    """POST the emergency run's facts to ``url`` (once per run); say what happened."""
    if not url:
        return "pending (no webhook configured): notify by hand"
    if url not in _said:
        auth = run.authorization
        text = (f"rollbook: {auth.get('level')} emergency {run.kind} of {run.system} in {run.environment} by "
                f"{run.operator} (on call: {auth.get('oncall')}): {auth.get('reason')} [run {run.run_id}]")
        _said[url] = post(url, {"text": text, "run_id": run.run_id, "event": "emergency_rollback",
                                "environment": run.environment, "system": run.system, "deploy": run.deploy,
                                "scope": run.scope, "operator": run.operator, "level": auth.get("level"),
                                "oncall": auth.get("oncall"), "reason": auth.get("reason")})
    return _said[url]


def drift(url: str, inventory: str, report) -> str:
    """POST a drift check's outcome (drift found, or the check failed)."""
    if report.error:
        text = f"rollbook: the drift check of {inventory} failed: {report.error}"
    else:
        drifted = sorted({f"{d.host} ({d.system})" for d in report.drift})
        text = f"rollbook: drift in {inventory} on {', '.join(drifted)}"
    return post(url, {"text": text, "event": "drift", "inventory": inventory, "code": report.code,
                      "error": report.error,
                      "drift": [{"host": d.host, "system": d.system, "steps": d.steps} for d in report.drift]})


def post(url: str, body: dict) -> str:
    """POST ``body`` as JSON to ``url``; say what happened (never raises)."""
    request = urllib.request.Request(str(url), data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return f"sent ({response.status})"
    except (OSError, ValueError) as error:
        return f"failed ({type(error).__name__}): notify by hand"
