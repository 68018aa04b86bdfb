"""Scheduled drift checks: a systemd timer and service on the control hosts (group ``control``).

The service runs ``python -m rollbook drift INVENTORY`` (with ``--correct`` where data says
so) every ``rollbook_drift_interval_minutes``, logging to the journal::

    pyinfra inventories/prod.py deploys/drift_timer.py
    journalctl -u rollbook-drift.service        # on the control host
"""

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from .preflight import boolean, positive_int, require
from .templates import render

GROUP = "control"
UNITS = "/etc/systemd/system"


def unit_files(data) -> dict[str, str]:
    """The service and timer, rendered from data (PreflightError names a bad key)."""
    variables = dict(
        inventory=str(require(data, "rollbook_drift_inventory")),
        minutes=positive_int(require(data, "rollbook_drift_interval_minutes"), "rollbook_drift_interval_minutes"),
        correct=boolean(require(data, "rollbook_drift_correct"), "rollbook_drift_correct"),
        python=str(require(data, "rollbook_control_python")),
        checkout=str(require(data, "rollbook_control_checkout")),
        operator=str(require(data, "rollbook_drift_operator")),
    )
    return {name: render(f"{name}.j2", **variables) for name in ("rollbook-drift.service", "rollbook-drift.timer")}


@deploy("drift timer")
def drift_timer():
    """
    Install and start the drift timer on this host when it is a control host.

    Example:

    .. code:: python

        from rollbook.drift_timer import drift_timer
        drift_timer()
    """
    if GROUP not in host.groups:
        return
    rendered = unit_files(host.data)
    changed = [files.put(name=f"Install {UNITS}/{name}", src=StringIO(text), dest=f"{UNITS}/{name}", mode="644")
               for name, text in rendered.items()]
    systemd.daemon_reload(name="Reload systemd (unit files changed)",
                          _if=lambda: any(op.did_change() for op in changed))
    systemd.service(name="Restart the drift timer (unit files changed)", service="rollbook-drift.timer",
                    running=True, restarted=True, _if=lambda: any(op.did_change() for op in changed))
    systemd.service(name="Enable and start the drift timer", service="rollbook-drift.timer",
                    running=True, enabled=True)
