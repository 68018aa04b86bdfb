"""The control host: rollbook installed for real, and the scheduled drift check (group ``control``).

``deploys/drift_timer.py`` converges a control host to a dedicated user, this repo's checkout at
``rollbook_control_ref`` (sent as a git bundle), a virtualenv of exactly ``requirements-runtime.txt``
(wheels fetched on the controller for the host's python3, installed offline) and a hardened systemd
timer template running ``rollbook drift --shard I/N`` every ``rollbook_drift_interval_minutes``, one
instance per shard (``rollbook_drift_shards``, ``drift_shards``); the webhook (a secret) stays in a
root-only file that systemd reads (``NOTIFY_ENV``)::

    pyinfra inventories/prod.py deploys/drift_timer.py
    journalctl -u 'rollbook-drift@*.service'     # on the control host: every shard's checks
"""

import hashlib
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field, replace
from io import BytesIO, StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, deploy, operation
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from .. import pipeline
from ..host.command import command
from ..host.shell import q
from ..host.uploads import staging_path, uploads_folder_command
from ..core.notify import WEBHOOK_VARIABLE
from ..core.paths import checkout
from ..core.loader import uploads_of
from ..core.preflight import PreflightError
from ..core.report import announce
from ..core.templates import render
from ..cli.shards import shard_file
from .drift_shards import LEGACY_UNITS, DriftShardsPresent, instance_units, retired_files, retired_units

GROUP = "control"
UNITS = "/etc/systemd/system"
REQUIREMENTS = "requirements-runtime.txt"
CACHE = ".control"  # in the controller's checkout (not committed): bundles and wheelhouses
MARKER = "rollbook-requirements.sha256"
BUNDLE_REF = "refs/rollbook/control"
NOTIFY_ENV = "/etc/rollbook-drift/notify.env"  # the webhook, for systemd's EnvironmentFile= (0600, root's)
SECRET_MODE = "600 0:0"  # what NOTIFY_ENV must be: mode, then uid:gid (root)
CHECK_TIMEOUT, CORRECTION_TIMEOUT = 10, 60  # minutes a tick may run at least (TimeoutStartSec=)
OLDEST_MANYLINUX = 17  # manylinux_2_17 (manylinux2014): the oldest glibc the wheels are fetched for
# what python3 on the control host says: major minor machine libc libc-version ("3 11 x86_64 glibc 2.36")
PYTHON_PROBE = "import sys, platform; print(*sys.version_info[:2], platform.machine(), *platform.libc_ver())"
# what may not go into a unit line, and how a refusal names it: a newline or another control character (a
# line of its own: a new directive), and in ExecStart=/Environment= also what systemd splits or expands there
CONTROL_CHARACTER = (re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"), "a newline or another control character")
UNIT_UNSAFE = (re.compile(r"""[\s"'\\$;]"""), "whitespace, a quote, a backslash, $ or ;")
QUOTE = (re.compile(r"['\\]"), "a quote or a backslash")  # in NOTIFY_ENV, a value between single quotes


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
    shards: int
    textfile: str
    json_out: str
    notify: str = field(repr=False)  # a secret: never in a repr, a unit or a command line
    environment: dict = field(default_factory=dict)


# the data key each field comes from (what a refusal names)
KEYS = {"user": "rollbook_control_user", "checkout": "rollbook_control_checkout", "venv": "rollbook_control_venv",
        "ref": "rollbook_control_ref", "inventory": "rollbook_drift_inventory",
        "minutes": "rollbook_drift_interval_minutes", "correct": "rollbook_drift_correct",
        "shards": "rollbook_drift_shards",
        "textfile": "rollbook_drift_textfile", "json_out": "rollbook_drift_json",
        "notify": "rollbook_notify_webhook", "environment": "rollbook_control_environment"}


def control_from(settings) -> Control:
    """The control host's drift timer as a host's (validated) settings ask for it."""
    given = {name: getattr(settings, key) for name, key in KEYS.items()}
    return Control(**(given | {"notify": given["notify"] or "", "environment": dict(given["environment"])}))


def _refuse(key: str, text: str, where: str, *unsafe: tuple[re.Pattern, str]):
    for pattern, what in unsafe:
        if pattern.search(text):
            raise PreflightError(f"{key}: holds {what}, which cannot go in {where}: refused")


def unit_value(key: str, value) -> str:
    """``value`` as it may stand in a unit line, ``%`` doubled (never a systemd specifier); a control
    character, whitespace, a quote, a backslash, ``$`` or ``;`` is refused naming ``key``::

        >>> unit_value("rollbook_drift_json", "/var/lib/rollbook-drift/100%.json")
        '/var/lib/rollbook-drift/100%%.json'
    """
    text = str(value)
    _refuse(key, text, "the drift timer's units", CONTROL_CHARACTER, UNIT_UNSAFE)
    return text.replace("%", "%%")


def _for_units(control: Control) -> Control:
    """``control`` with every value the units show checked and escaped (``unit_value``)."""
    values = {name: unit_value(KEYS[name], getattr(control, name))
              for name in ("user", "checkout", "venv", "inventory", "textfile", "json_out")}
    environment = {unit_value(f"{KEYS['environment']} (a name)", name):
                   unit_value(f"{KEYS['environment']}[{name}]", value)
                   for name, value in control.environment.items()}
    return replace(control, **values, environment=environment, notify="")  # the webhook is not the units'


def writable(control: Control) -> list[str]:
    """What the service may write under ``ProtectSystem=strict``: the folders of its JSON report and its
    textfile (both written by a rename), nothing else (the check's plan goes to ``PrivateTmp=``)."""
    folders = sorted({Path(control.json_out).parent, Path(control.textfile).parent})
    return [str(path) for path in folders if not any(path.is_relative_to(other) for other in folders if other != path)]


def unit_files(control: Control) -> dict[str, str]:
    """The service and timer templates (``rollbook-drift@.service``, ``.timer``: instance ``I`` checks shard
    ``I``, writing ``shard_file(path, I)``), rendered from the control host's data (every value checked:
    ``unit_value``); the same on every control host of the same data."""
    shown = _for_units(control)
    least = CORRECTION_TIMEOUT if control.correct else CHECK_TIMEOUT
    return {name: render(f"{name}.j2", control=shown, notify_env=NOTIFY_ENV, writable=writable(shown),
                         shard_textfile=shard_file(shown.textfile, "%i"), shard_json_out=shard_file(shown.json_out, "%i"),
                         timeout_minutes=max(least, control.minutes),
                         delay_seconds=max(1, control.minutes * 6))  # a tenth of the interval
            for name in ("rollbook-drift@.service", "rollbook-drift@.timer")}


def notify_env_text(control: Control) -> str | None:
    """``NOTIFY_ENV``'s content: ``ROLLBOOK_NOTIFY_WEBHOOK='<url>'`` (read literally), or None without a
    webhook; a control character, a quote or a backslash is refused, never showing the value."""
    if not control.notify:
        return None
    _refuse(KEYS["notify"], control.notify, NOTIFY_ENV, CONTROL_CHARACTER, QUOTE)
    return f"{WEBHOOK_VARIABLE}='{control.notify}'\n"


@dataclass(frozen=True)
class Python:
    """The control host's python3: its version and platform, which the wheels must fit."""

    major: int
    minor: int
    machine: str  # platform.machine(): x86_64, aarch64, ...
    libc: str  # platform.libc_ver(): glibc, or "" (musl, unknown)
    libc_version: str  # 2.36

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    def platforms(self) -> list[str]:
        """pip's ``--platform`` tags of every manylinux wheel this host runs: ``manylinux_2_<glibc>`` down to
        ``manylinux_2_17``, then ``manylinux2014`` (which pip widens to manylinux2010 and manylinux1)."""
        glibc = re.fullmatch(r"2\.(\d+)", self.libc_version)
        if self.libc != "glibc" or not glibc:
            raise PreflightError(f"the control host's python3 runs on {self.libc or 'an unknown libc'} "
                                 f"{self.libc_version}: the runtime wheels are fetched for glibc (manylinux) only")
        if int(glibc[1]) < OLDEST_MANYLINUX:
            raise PreflightError(f"the control host's glibc {self.libc_version} is older than 2.{OLDEST_MANYLINUX} "
                                 "(manylinux2014): no runtime wheels fit it")
        newest = [f"manylinux_2_{minor}_{self.machine}" for minor in range(int(glibc[1]), OLDEST_MANYLINUX - 1, -1)]
        return [*newest, f"manylinux2014_{self.machine}"]

    @property
    def key(self) -> str:
        """What the wheels are fetched for (wheelhouse, virtualenv marker): ``cp311-manylinux_2_36_x86_64``."""
        return f"cp{self.major}{self.minor}-{self.platforms()[0]}"


def python_from(said: str) -> Python:
    """The ``Python`` of the fact's line (``3 11 x86_64 glibc 2.36``)."""
    parts = said.split()
    if len(parts) not in (3, 5) or not parts[0].isdigit() or not parts[1].isdigit():
        raise PreflightError(f"the control host has no python3 that says its version and platform "
                             f"({said.strip() or 'no answer'}): the virtualenv needs one")
    return Python(int(parts[0]), int(parts[1]), parts[2], *(parts[3:] or ["", ""]))  # libc: "" when unknown


class ControlHost(FactBase):
    """The checkout's commit, the virtualenv's marker, what python3 says (``PYTHON_PROBE``) and the
    webhook file's ``mode uid:gid sha256`` ("" when missing: never its content)."""

    def command(self, checkout: str, venv: str, notify_env: str = NOTIFY_ENV):
        env = q(notify_env)
        return (f"echo \"head $(git -C {q(checkout)} rev-parse -q HEAD 2>/dev/null)\"; "
                f"echo \"installed $(cat {q(venv + '/' + MARKER)} 2>/dev/null)\"; "
                f"echo \"python $(python3 -c {q(PYTHON_PROBE)} 2>/dev/null)\"; "
                f"if [ -f {env} ]; then echo \"notify $(stat -c '%a %u:%g' {env}) $(sha256sum < {env} | cut -c1-64)\"; "
                "else echo notify; fi")

    def process(self, output):
        values = dict(line.partition(" ")[::2] for line in output)
        return {name: values.get(name, "").strip() for name in ("head", "installed", "python", "notify")}


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


def download_command(folder: Path, requirements: Path, python: Python) -> list[str]:
    """``pip download`` of ``requirements`` (and the controller's pip) as binary wheels for the control
    host's ``python`` and platform, not the controller's."""
    import pip

    platforms = [arg for tag in python.platforms() for arg in ("--platform", tag)]
    return [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--implementation", "cp",
            "--python-version", python.version, *platforms, "--dest", str(folder), "-r", str(requirements),
            f"pip=={pip.__version__}"]


def wheelhouse(python: Python, commit: str) -> tuple[bytes, str]:
    """A tar of pip and the wheels of ``requirements-runtime.txt`` as ``commit`` holds it (not the working
    tree) for ``python``, downloaded once per requirements' hash and ``python.key``; and the venv's marker."""
    pinned = _git("show", f"{commit}:{REQUIREMENTS}") + "\n"
    digest = hashlib.sha256(pinned.encode()).hexdigest()
    folder = checkout() / CACHE / f"wheels-{digest[:12]}-{python.key}"
    if not (folder / ".complete").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        requirements = folder / REQUIREMENTS
        requirements.write_text(pinned)
        done = subprocess.run(download_command(folder, requirements, python), capture_output=True, text=True)
        if done.returncode != 0:
            said = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PreflightError(f"downloading the runtime wheels for the control host ({python.key}) failed: {said}")
        (folder / ".complete").write_text(digest + "\n")
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for wheel in sorted(folder.glob("*.whl")):
            info = tar.gettarinfo(str(wheel), arcname=wheel.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            tar.addfile(info, BytesIO(wheel.read_bytes()))
    return buffer.getvalue(), f"{digest} {python.key}"


@operation()
def checked_out(path: str, bundle_file: Path, commit: str, head: str):
    """The repo checkout ``path`` at ``commit``, fetched from ``bundle_file`` (``bundle(ref)``, on the
    controller), when ``head`` (its commit now, from a fact; "" when none) differs."""
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
    """A virtualenv ``venv`` of exactly ``requirements``, installed offline from the ``wheels`` tar unless its
    marker ``installed`` (a fact) is ``digest`` (``wheelhouse``'s: an upgraded python3 reinstalls too)."""
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


@operation()
def secret_file(path: str, content: StringIO | None, current: str):
    """File ``path`` holding ``content`` (a ``StringIO``: never printed), 0600 root's, or no such file when
    ``content`` is None; ``current``: ``<mode> <uid>:<gid> <sha256>`` of the file now, "" when none::

        secret_file(name="Keep the webhook in a file only root reads", path=NOTIFY_ENV,
                    content=StringIO(text), current=state["notify"])
    """
    if content is None:
        if current:
            announce([f"{path}: remove (no webhook configured)"])
            yield command("rm -f -- {path}", path=path)
        return
    digest = hashlib.sha256(content.getvalue().encode()).hexdigest()
    if current == f"{SECRET_MODE} {digest}":
        return
    announce([f"{path}: {'rewrite' if current else 'create'} (0600, root only; its content is not shown)"])
    folder, staged = str(Path(path).parent), f"{path}.rollbook-new"
    if staging := staging_path():  # through sudo: the upload waits in the SSH user's private folder (made here)
        yield uploads_folder_command(*uploads_of(host))
    # made 0600 root's first: the upload (SFTP, or sudo's cp) writes into it and keeps its mode and owner
    yield command("{{ [ -d {folder} ] || install -d -m 755 {folder}; }} && rm -f -- {staged} && "
                  "install -m 600 -o root -g root /dev/null {staged}", folder=folder, staged=staged)
    yield FileUploadCommand(content, staged, remote_temp_filename=staging)
    yield command("chmod 600 {staged} && chown root:root {staged} && mv -f -- {staged} {path}",
                  staged=staged, path=path)


@deploy("drift timer")
def drift_timer():
    """Install rollbook and its drift timer on this host when it is a control host::

        drift_timer()   # deploys/drift_timer.py
    """
    if GROUP not in host.groups:
        return
    settings = pipeline.preflight()  # the data's schema, no unknown or security --data key: before anything else
    control = control_from(settings)
    units, secret = unit_files(control), notify_env_text(control)  # both refuse what cannot go in them
    state = host.get_fact(ControlHost, checkout=control.checkout, venv=control.venv, notify_env=NOTIFY_ENV)
    present = host.get_fact(DriftShardsPresent, textfile=control.textfile, json_out=control.json_out)
    current = pipeline.begin_deploy("drift_timer", "install", settings)  # authorization, lock, history
    bundle_file, commit = bundle(control.ref)
    wheels, digest = wheelhouse(python_from(state["python"]), commit)
    server.user(name=f"A dedicated user for the drift check: {control.user}", user=control.user, system=True,
                home=f"/var/lib/{control.user}", shell="/usr/sbin/nologin", create_home=True)
    folders = {str(Path(control.json_out).parent): "report"}
    folders.setdefault(str(Path(control.textfile).parent), "textfile")  # one folder for both: made once
    for folder, what in folders.items():
        files.directory(name=f"Make {folder} for the drift {what}", path=folder, user=control.user,
                        group=control.user, mode="755")
    checked_out(name=f"Check out rollbook {control.ref} in {control.checkout}", path=control.checkout,
                bundle_file=bundle_file, commit=commit, head=state["head"])
    venv_installed(name=f"Install the runtime requirements in {control.venv}", venv=control.venv,
                   requirements=f"{control.checkout}/{REQUIREMENTS}", wheels=wheels, digest=digest,
                   installed=state["installed"])
    # the webhook: read by systemd (as root) at each start of the service, so a change needs no reload
    secret_file(name=f"Keep the drift webhook in {NOTIFY_ENV} (root only)" if secret else
                f"No drift webhook: remove {NOTIFY_ENV}", path=NOTIFY_ENV,
                content=StringIO(secret) if secret else None, current=state["notify"])
    changed = retire_shards(control, present)
    changed += [files.put(name=f"Install {UNITS}/{name}", src=StringIO(text), dest=f"{UNITS}/{name}", mode="644")
                for name, text in units.items()]
    systemd.daemon_reload(name="Reload systemd (unit files changed)", _if=any_changed(*changed))
    for index in range(control.shards):
        timer, _ = instance_units(index)
        systemd.service(name=f"Restart the drift timer of shard {index}/{control.shards} (unit files changed)",
                        service=timer, running=True, restarted=True, _if=any_changed(*changed))
        systemd.service(name=f"Enable and start the drift timer of shard {index}/{control.shards}", service=timer,
                        running=True, enabled=True)
    pipeline.finish_deploy(current, settings)


def retire_shards(control: Control, present: dict) -> list:
    """Stop and disable the units of shards that no longer exist (and the unit files from before shards),
    remove their textfiles and reports; the operations that remove unit files (a reload follows them)."""
    for unit in retired_units(present["units"], control.shards):
        systemd.service(name=f"Stop and disable {unit} (no such shard of {control.shards})", service=unit,
                        running=False, enabled=False)
    for path in retired_files(present["files"], control.shards, [control.textfile, control.json_out]):
        files.file(name=f"Remove {path} (no such shard of {control.shards})", path=path, present=False)
    return [files.file(name=f"Remove {UNITS}/{name} (replaced by the shards' template)", path=f"{UNITS}/{name}",
                       present=False) for name in LEGACY_UNITS]
