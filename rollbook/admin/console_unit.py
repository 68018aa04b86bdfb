"""The web console on the control host (group ``control``): ``rollbook serve`` as a systemd unit of the
control user, on ``127.0.0.1:<rollbook_console_port>``, run from the checkout and virtualenv that
``deploys/drift_timer.py`` installed::

    pyinfra inventories/prod.py deploys/drift_timer.py      # rollbook itself, first
    pyinfra inventories/prod.py deploys/console.py          # then its console
    ssh -L 8480:127.0.0.1:8480 control-host                 # how people reach it (or a reverse proxy)

The team places what is secret before, readable by the control user only: the users file
(``/etc/rollbook-console/users``, ``name role bcrypt-hash``) and the key console approvals are signed
with (``/etc/rollbook-console/approval_ed25519``, a listed signer as ``*@rollbook-console``). The
deploy refuses to start a console without its users file.
"""

import re
from io import StringIO

from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.operations import files, systemd

from .. import pipeline
from ..core.preflight import PreflightError
from ..core.templates import render
from ..host.shell import q
from .drift_timer import GROUP, MARKER, UNITS, _for_units, control_from, unit_value

CONFIG_DIR = "/etc/rollbook-console"
CONFIG = f"{CONFIG_DIR}/console.toml"
USERS = f"{CONFIG_DIR}/users"
APPROVAL_KEY = f"{CONFIG_DIR}/approval_ed25519"
STATE = "/var/lib/rollbook-console"
DATABASE_ENV = f"{CONFIG_DIR}/database.env"  # ROLLBOOK_DATABASE_URL=postgresql://... (the team's, root 0600)
UNIT = "rollbook-console.service"
PRIVATE_MODES = ("600", "640")


class ConsoleFiles(FactBase):
    """What the team placed and what the drift timer's deploy installed: ``<name> <mode> <owner>`` per
    line ("" after the name when missing), and ``installed <commit> <requirements digest>``."""

    def command(self, venv: str, checkout: str):
        checks = {"users": USERS, "approval_key": APPROVAL_KEY, "venv": f"{venv}/{MARKER}"}
        return "; ".join([f"echo \"{name} $(stat -c '%a %U' {q(path)} 2>/dev/null)\"" for name, path in checks.items()]
                         + [f"echo \"installed $(git -C {q(checkout)} rev-parse -q HEAD 2>/dev/null) "
                            f"$(cut -c1-64 {q(venv + '/' + MARKER)} 2>/dev/null)\""])

    def process(self, output):
        return {name: said.strip() for name, _, said in (line.partition(" ") for line in output)}


def config_text(settings, approval_key: bool) -> str:
    """The console's settings file (``rollbook.console.config``) from the control host's data."""
    checked = [name for name, inventory in settings.rollbook_console_environments.items()
               if inventory == settings.rollbook_drift_inventory]
    lines = [f"port = {settings.rollbook_console_port}", f'users = "{USERS}"', f'state = "{STATE}"',
             f'drift_report = "{settings.rollbook_drift_json}"',
             f'drift_environment = "{checked[0] if checked else ""}"']
    if approval_key:
        lines.append(f'approval_key = "{APPROVAL_KEY}"')
    for name, inventory in settings.rollbook_console_environments.items():
        lines += [f"[environments.{name}]", f'inventory = "{unit_value("rollbook_console_environments", inventory)}"',
                  f"self_service = {str(name in settings.rollbook_console_self_service).lower()}"]
    return "\n".join(lines) + "\n"


def unit_text(settings, installed: str = "") -> str:
    """The console's systemd unit from the control host's data (every value checked as the drift timer's);
    ``installed`` (the checkout's commit and the virtualenv's digest) is written in it, so that a new
    rollbook restarts the console."""
    return render(f"{UNIT}.j2", control=_for_units(control_from(settings)), config=CONFIG, state=STATE,
                  port=settings.rollbook_console_port, database_env=DATABASE_ENV, installed=re.sub(r"[^0-9a-f ]", "", installed))


def refusal(placed: dict[str, str], user: str) -> str:
    """Why the console cannot start on this host ('' when it can)."""
    if not placed.get("venv"):
        return "rollbook is not installed on this control host: run deploys/drift_timer.py first"
    mode, _, owner = placed.get("users", "").partition(" ")
    if not mode:
        return f"no console users file at {USERS}: place it first (name role bcrypt-hash per line, mode 0600, owner {user})"
    if mode not in PRIVATE_MODES or owner != user:
        return f"{USERS} is mode {mode} owned by {owner}: it must be 0600 or 0640 and owned by {user}"
    return ""


@deploy("console")
def console():
    """The console unit on this host when it is a control host::

        console()   # deploys/console.py
    """
    if GROUP not in host.groups:
        return
    settings = pipeline.preflight()
    control = control_from(settings)
    placed = host.get_fact(ConsoleFiles, venv=control.venv, checkout=control.checkout)
    why = refusal(placed, control.user)
    if why:
        raise PreflightError(f"{host.name}: {why}")
    current = pipeline.begin_deploy("console", "install", settings)
    files.directory(name=f"Make {STATE} for the console's history and run output", path=STATE, user=control.user,
                    group=control.user, mode="700")
    changed = [
        files.put(name=f"Install the console's settings in {CONFIG}", src=StringIO(config_text(settings, bool(
            placed.get("approval_key")))), dest=CONFIG, mode="644"),
        files.put(name=f"Install {UNITS}/{UNIT}", dest=f"{UNITS}/{UNIT}", mode="644", src=StringIO(unit_text(settings, placed.get("installed", ""))))]
    systemd.daemon_reload(name="Reload systemd (unit file changed)", _if=lambda: changed[1].did_change())
    systemd.service(name="Restart the console (its settings or unit changed)", service=UNIT, running=True,
                    restarted=True, _if=lambda: any(op.did_change() for op in changed))
    systemd.service(name="Enable and start the console", service=UNIT, running=True, enabled=True)
    pipeline.finish_deploy(current, settings)
