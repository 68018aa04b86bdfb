"""Apply a new configuration to a running service so that the process really sees it.

The decision compares the *running* process with the target, not "did a file change in
this run", so a run killed between edit and restart is finished by the next one.
"""

from pyinfra.api import operation

from ..envfile import shown
from ..report import announce
from ..shell import COMPOSE, q


def _reasons(running: dict[str, str] | None, target: dict[str, str], stale_code: bool) -> list[str]:
    if running is None:
        return ["not running"]
    reasons = [f"running process holds {key}={shown(key, running.get(key))}"
               for key, value in target.items() if running.get(key) != value]
    if stale_code:
        reasons.append("running process started before the current code was checked out")
    return reasons


@operation()
def restarted_when_stale(unit: str, service: str, project_dir: str, running: dict[str, str] | None,
                         target: dict[str, str], stale_code: bool = False):
    """
    Restart a systemd unit (``systemctl restart``), or recreate a compose service (``up -d
    --force-recreate``: ``restart`` would not re-read ``env_file``), when the running process
    does not hold ``target``, is not running, or runs code older than the checkout.

    + unit: ``systemd`` or ``compose``
    + service: the systemd unit, or the compose service
    + project_dir: the compose project's directory (compose only)
    + running: the managed keys in the running process's environment (None: not running)
    + target: the values it must hold
    + stale_code: the process started before the app's current checkout

    Example:

    .. code:: python

        service.restarted_when_stale(name="Restart analyticbot-api", unit="systemd",
                                     service="analyticbot-api", project_dir="", running=state.running,
                                     target={"ENABLE_ADVANCED_RECOMMENDATIONS": "false"})
    """
    reasons = _reasons(running, target, stale_code)
    if not reasons:
        return
    announce([f"{service}: {reason}" for reason in reasons])
    if unit == "compose":
        yield f"cd {q(project_dir)} && {COMPOSE} && $c up -d --force-recreate --no-deps {q(service)}"
    else:
        yield f"systemctl daemon-reload && systemctl restart {q(service)}"
