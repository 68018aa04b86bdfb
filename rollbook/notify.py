"""Notify about an emergency override: call the configured webhook once per run, when it starts changing.

A ``--dry`` run never notifies. Example::

    run.authorization["notification"] = emergency(run, "https://hooks.example/rollbook")   # 'sent (200)'
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
        body = json.dumps({"run_id": run.run_id, "event": "emergency_rollback", "environment": run.environment,
                           "system": run.system, "deploy": run.deploy, "scope": run.scope, "operator": run.operator,
                           "level": auth.get("level"), "oncall": auth.get("oncall"), "reason": auth.get("reason")})
        request = urllib.request.Request(str(url), data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                _said[url] = f"sent ({response.status})"
        except OSError as error:
            _said[url] = f"failed ({type(error).__name__}): notify by hand"
    return _said[url]
