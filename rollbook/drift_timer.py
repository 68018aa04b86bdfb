"""The control host: rollbook installed for real, and the scheduled drift check (group ``control``).

``deploys/drift_timer.py`` converges a control host to: a dedicated user (``rollbook_control_user``);
this repo's checkout at ``rollbook_control_ref`` (sent as a git bundle, so the host needs no access to
the repository); a virtualenv holding exactly ``requirements-runtime.txt`` (wheels downloaded on the
controller and installed offline, so the host needs no package index); and a systemd timer whose
service runs ``rollbook drift`` every ``rollbook_drift_interval_minutes`` as that user, writing the
journal, a JSON report and a Prometheus textfile, and calling the webhook on drift or failure::

    pyinfra inventories/prod.py deploys/drift_timer.py
    journalctl -u rollbook-drift.service        # on the control host

The SSH key and known_hosts the check connects with come from the environment's data (placed on the
control host by the team, like the hosts' enrollment); ``rollbook_control_environment`` passes the
variables that name them.
"""

import hashlib
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from io import BytesIO, StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, deploy, operation
from pyinfra.operations import files, server, systemd

from .host.command import command
from .host.shell import q
from .paths import checkout
from .preflight import PreflightError, boolean, positive_int, require
from .report import announce
from .templates import render

GROUP = "control"
UNITS = "/etc/systemd/system"
REQUIREMENTS = "requirements-runtime.txt"
CACHE = ".control"  # in the controller's checkout (not committed): bundles and wheelhouses
MARKER = "rollbook-requirements.sha256"
BUNDLE_REF = "refs/rollbook/control"


@dataclass(frozen=True)
class Control:
    """What a control host must hold, validated from its data."""

    user: str
    checkout: str
    venv: str
    ref: str
    inventory: str
    minutes: int
    correct: bool
    textfile: str
    json_out: str
    notify: str
    environment: dict


def control_from(data) -> Control:
    return Control(
        user=str(require(data, "rollbook_control_user")), checkout=str(require(data, "rollbook_control_checkout")),
        venv=str(require(data, "rollbook_control_venv")), ref=str(require(data, "rollbook_control_ref")),
        inventory=str(require(data, "rollbook_drift_inventory")),
        minutes=positive_int(require(data, "rollbook_drift_interval_minutes"), "rollbook_drift_interval_minutes"),
        correct=boolean(require(data, "rollbook_drift_correct"), "rollbook_drift_correct"),
        textfile=str(require(data, "rollbook_drift_textfile")), json_out=str(require(data, "rollbook_drift_json")),
        notify=str(data.get("rollbook_notify_webhook") or ""),
        environment=dict(data.get("rollbook_control_environment") or {}))


def unit_files(control: Control) -> dict[str, str]:
    """The service and timer, rendered from the control host's data."""
    return {name: render(f"{name}.j2", control=control) for name in ("rollbook-drift.service", "rollbook-drift.timer")}


class ControlHost(FactBase):
    """The checkout's commit and the requirements the virtualenv was installed from (their hash)."""

    def command(self, checkout: str, venv: str):
        return (f"echo \"head $(git -C {q(checkout)} rev-parse -q HEAD 2>/dev/null)\"; "
                f"echo \"installed $(cat {q(venv + '/' + MARKER)} 2>/dev/null)\"")

    def process(self, output):
        values = dict(line.partition(" ")[::2] for line in output)
        return {"head": values.get("head", "").strip(), "installed": values.get("installed", "").strip()}


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(checkout()), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise PreflightError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def bundle(ref: str) -> tuple[Path, str]:
    """A git bundle of ``ref`` from the controller's checkout, and the commit it holds."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    path = checkout() / CACHE / f"rollbook-{commit[:12]}.bundle"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _git("update-ref", BUNDLE_REF, commit)  # a private ref: no branch appears in the checkout
        _git("bundle", "create", str(path), BUNDLE_REF)
    return path, commit


def wheelhouse() -> tuple[bytes, str]:
    """A tar of the wheels of ``requirements-runtime.txt`` (and pip), downloaded once on the controller,
    and the requirements' hash (what the installed virtualenv is marked with)."""
    requirements = checkout() / REQUIREMENTS
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    folder = checkout() / CACHE / f"wheels-{digest[:12]}"
    if not (folder / ".complete").is_file():
        import pip

        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--dest",
                               str(folder), "-r", str(requirements), f"pip=={pip.__version__}"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise PreflightError(f"downloading the runtime wheels failed: {done.stderr.strip().splitlines()[-1:]}")
        (folder / ".complete").write_text(digest + "\n")
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for wheel in sorted(folder.glob("*.whl")):
            info = tar.gettarinfo(str(wheel), arcname=wheel.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(wheel, "rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue(), digest


@operation()
def checked_out(path: str, bundle_file: Path, commit: str, head: str):
    """
    The repo checkout at ``commit``, fetched from a bundle sent from the controller, when ``head`` differs.

    + path: the checkout on the control host
    + bundle_file: the bundle on the controller (``bundle(ref)``)
    + commit: the commit to check out
    + head: the checkout's commit now (from a fact; "" when there is none)
    """
    if head == commit:
        return
    announce([f"{path}: {head[:12] or '(none)'} -> {commit[:12]}"])
    staged = f"{path}.bundle"
    yield FileUploadCommand(str(bundle_file), staged)
    yield command("( [ -d {git} ] || git init -q {path} ) && git -C {path} fetch -q {staged} {ref} && "
                  "git -C {path} checkout -q --force --detach {commit} && rm -f {staged}",
                  git=f"{path}/.git", path=path, staged=staged, ref=BUNDLE_REF, commit=commit)


@operation()
def venv_installed(venv: str, requirements: str, wheels: bytes, digest: str, installed: str):
    """
    A virtualenv holding exactly ``requirements`` (installed offline from ``wheels``), when the one
    there was installed from other requirements (``installed``: the hash it is marked with).

    + venv: the virtualenv on the control host
    + requirements: the requirements file in the checkout
    + wheels: a tar of the wheels (and pip's own)
    + digest: the requirements' hash
    + installed: the hash the virtualenv holds now (from a fact)
    """
    if installed == digest:
        return
    announce([f"{venv}: install {requirements} ({digest[:12]})"])
    staged = f"{venv}.wheels.tar"
    yield FileUploadCommand(BytesIO(wheels), staged)
    wheels_dir = f"{venv}.wheels"
    yield command("rm -rf {venv} {wheels} && mkdir -p {wheels} && tar -x -C {wheels} -f {staged} "
                  "&& python3 -m venv --without-pip {venv} && pip=$(ls {wheels}/pip-*.whl) && "
                  '{python} "$pip/pip" install -q --no-index --find-links {wheels} -r {requirements} && '
                  "echo {digest} > {marker} && rm -rf {wheels} {staged}", venv=venv, wheels=wheels_dir, staged=staged,
                  python=f"{venv}/bin/python", requirements=requirements, digest=digest, marker=f"{venv}/{MARKER}")


@deploy("drift timer")
def drift_timer():
    """
    Install rollbook and its drift timer on this host when it is a control host.

    Example:

    .. code:: python

        from rollbook.drift_timer import drift_timer
        drift_timer()
    """
    if GROUP not in host.groups:
        return
    control = control_from(host.data)
    bundle_file, commit = bundle(control.ref)
    wheels, digest = wheelhouse()
    state = host.get_fact(ControlHost, checkout=control.checkout, venv=control.venv)
    server.user(name=f"A dedicated user for the drift check: {control.user}", user=control.user, system=True,
                home=f"/var/lib/{control.user}", shell="/usr/sbin/nologin", create_home=True)
    reports, textfiles = str(Path(control.json_out).parent), str(Path(control.textfile).parent)
    files.directory(name=f"Make {reports} for the drift report", path=reports, user=control.user,
                    group=control.user, mode="755")
    if textfiles != reports:
        files.directory(name=f"Make {textfiles} for the drift textfile", path=textfiles, user=control.user,
                        group=control.user, mode="755")
    checked_out(name=f"Check out rollbook {control.ref} in {control.checkout}", path=control.checkout,
                bundle_file=bundle_file, commit=commit, head=state["head"])
    venv_installed(name=f"Install the runtime requirements in {control.venv}", venv=control.venv,
                   requirements=f"{control.checkout}/{REQUIREMENTS}", wheels=wheels, digest=digest,
                   installed=state["installed"])
    changed = [files.put(name=f"Install {UNITS}/{name}", src=StringIO(text), dest=f"{UNITS}/{name}", mode="644")
               for name, text in unit_files(control).items()]
    systemd.daemon_reload(name="Reload systemd (unit files changed)",
                          _if=lambda: any(op.did_change() for op in changed))
    systemd.service(name="Restart the drift timer (unit files changed)", service="rollbook-drift.timer",
                    running=True, restarted=True, _if=lambda: any(op.did_change() for op in changed))
    systemd.service(name="Enable and start the drift timer", service="rollbook-drift.timer",
                    running=True, enabled=True)
