"""Enrol a host: everything rollbook needs on it, set up by a deploy instead of by hand.

``deploys/bootstrap.py`` runs once per host, as its team's admin (root, or a user with sudo), once
``rollbook trust-host`` recorded the host's key (when it matched the fingerprint the operator was given)::

    rollbook trust-host inventories/prod.py vision-worker-04.prod.rollbook.internal --fingerprint SHA256:...
    pyinfra inventories/prod.py deploys/bootstrap.py --limit vision-worker-04.prod.rollbook.internal \\
        --user admin -y
"""

import hashlib
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, deploy, operation
from pyinfra.operations import server

from ..core import identity, runs
from .. import pipeline
from ..host.command import command
from ..host.shell import q
from ..host.uploads import folder, staging_path, uploads_folder_command
from ..core.paths import checkout
from ..pipeline.record import SCRIPT, append_history, run_on_host, script_path
from ..core.preflight import PreflightError
from ..core.report import announce, executing

SUDOERS = "/etc/sudoers.d/rollbook"


def authorized_keys(named: str) -> tuple[str, ...]:
    """The public keys of the repo's ``rollbook_authorized_keys`` file (comments and blank lines left out)."""
    path = (checkout() / named).resolve()
    if Path(named).is_absolute() or not path.is_relative_to(checkout()):
        raise PreflightError(f"rollbook_authorized_keys: {named!r} is not a path inside the repo")
    if not path.is_file():
        raise PreflightError(f"rollbook_authorized_keys: no file {named} (the keys the rollbook user accepts)")
    keys = tuple(line.strip() for line in path.read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))
    if not keys or not all(line.split()[0].startswith(("ssh-", "ecdsa-", "sk-")) for line in keys):
        raise PreflightError(f"rollbook_authorized_keys: {named} holds no public key, or a line that is not one")
    return keys


class Enrolled(FactBase):
    """The host as enrollment left it: the marker's environment, whether the upload folder exists, the
    host script's SHA-256 and the sudoers drop-in's text (None when missing)."""

    def command(self, marker: str, sudoers: str, uploads: str, script: str):
        return (f"echo \"marker $(cat {q(marker)} 2>/dev/null)\"; "
                f"if [ -d {q(uploads)} ]; then echo uploads yes; fi; "
                f"echo \"script $(sha256sum < {q(script)} 2>/dev/null | cut -c1-64)\"; "
                f"echo sudoers; cat {q(sudoers)} 2>/dev/null || true")

    def process(self, output):
        lines = list(output)
        end = lines.index("sudoers") if "sudoers" in lines else len(lines)
        said, body = dict(line.partition(" ")[::2] for line in lines[:end]), lines[end + 1:]
        return {"marker": said.get("marker", "").strip(), "uploads": said.get("uploads") == "yes",
                "script": said.get("script", "").strip(), "sudoers": "\n".join(body) + "\n" if body else None}


@operation()
def sudoers_installed(path: str, text: str, current: str | None):
    """The sudoers drop-in ``path`` holding ``text`` (``current``: its text now, None when missing),
    checked with ``visudo -cf`` before it is moved into place (0440): one that does not parse (it would
    lock every admin out of sudo) is removed and the operation fails::

        sudoers_installed(name="Give rollbook sudo", path="/etc/sudoers.d/rollbook",
                          text="rollbook ALL=(root) NOPASSWD: ALL\\n", current=None)
    """
    if current == text:
        return
    announce([f"{path}: {'create' if current is None else 'rewrite'}"])
    staged = f"{path}.rollbook-new"  # sudo reads only names without a dot: never loaded while staged
    yield command("rm -f -- {staged} && install -m 440 /dev/null {staged}", staged=staged)
    yield FileUploadCommand(StringIO(text), staged, remote_temp_filename=staging_path())
    yield command("if visudo -cf {staged} >/dev/null; then chmod 440 {staged} && mv -f -- {staged} {path}; "
                  "else rm -f -- {staged}; echo {said} >&2; exit 1; fi", staged=staged, path=path,
                  said=f"{path}: visudo -c refused the drop-in: left unchanged")


def _replaced(path: str, text: str, mode: str, folder_made: str, line: bool = False):
    """Shell writing ``text`` (and a newline when ``line``) to ``path`` by a rename, once ``folder_made``
    made its folder."""
    printf = "'%s\\n'" if line else "'%s'"
    return command(f"{folder_made} {{folder}} && printf {printf} {{text}} > {{path}}.rollbook-new && "
                   f"chmod {mode} {{path}}.rollbook-new && mv -f -- {{path}}.rollbook-new {{path}}",
                   folder=str(Path(path).parent), text=text, path=path)


@operation()
def script_installed(path: str, text: str, current: str):
    """rollbook's host script (lock, recorded state, history) at ``path``, root's only (0700 in a 0700
    folder), when ``current`` (the installed file's SHA-256, '' when missing) differs::

        script_installed(name="Install rollbook's host script", path="/var/lib/rollbook/bin/run_record.py",
                         text=SCRIPT, current="")
    """
    if current == hashlib.sha256(text.encode()).hexdigest():
        return
    announce([f"{path}: {'update' if current else 'install'} rollbook's host script"])
    yield _replaced(path, text, mode="700", folder_made="install -d -m 700")


@operation()
def marked(marker: str, environment: str, current: str):
    """The enrollment marker naming ``environment`` (``current``: what it names now)::

        marked(name="Enrol in prod", marker="/etc/rollbook/environment", environment="prod", current="")
    """
    if current == environment:
        return
    announce([f"{marker}: {current or '(none)'} -> {environment}"])
    yield _replaced(marker, environment, mode="644", folder_made="mkdir -p --", line=True)


@operation()
def folders_made(state_dir: str, user: str, present: bool):
    """rollbook's state folder (root only) and ``user``'s private upload folder, unless ``present`` (a fact)::

        folders_made(name="Make rollbook's folders", state_dir="/var/lib/rollbook", user="rollbook", present=False)
    """
    if present:
        return
    announce([f"{state_dir}: make (and {user}'s upload folder)"])
    yield command("install -d -m 700 {state} && {uploads}", state=state_dir,
                  uploads=uploads_folder_command(state_dir, user))


@deploy("bootstrap")
def bootstrap():
    """Enrol this host in the inventory's environment (see the module's doc)::

        bootstrap()   # deploys/bootstrap.py
    """
    settings = pipeline.preflight()
    keys = authorized_keys(settings.rollbook_authorized_keys)
    user, state_dir, marker = settings.rollbook_user, settings.rollbook_state_dir, settings.rollbook_environment_marker
    environment = settings.rollbook_environment
    sudo = settings.ssh_user != "root"  # an admin with sudo, or root itself
    now = host.get_fact(Enrolled, marker=marker, sudoers=SUDOERS, uploads=folder(state_dir, user),
                        script=script_path(state_dir), _sudo=sudo)
    current = pipeline.begin_deploy("bootstrap", "bootstrap", settings, enrolling=True, _sudo=sudo)  # lock, history
    server.user(name=f"The {user} account", user=user, home=f"/home/{user}", shell="/bin/bash", create_home=True,
                _sudo=sudo)
    server.user_authorized_keys(name=f"{user}'s authorized keys (rollbook_authorized_keys)", user=user,
                                public_keys=list(keys), delete_keys=True, authorized_key_directory=f"/home/{user}/.ssh",
                                _sudo=sudo)
    # pyinfra runs each operation as `sudo -H -n sh -c ...`: rollbook needs root, without a password
    sudoers_installed(name=f"Give {user} sudo ({SUDOERS}, checked with visudo)", path=SUDOERS,
                      text=f"# Managed by rollbook (deploys/bootstrap.py)\n{user} ALL=(root) NOPASSWD: ALL\n",
                      current=now["sudoers"], _sudo=sudo)
    folders_made(name="Make rollbook's folders", state_dir=state_dir, user=user, present=now["uploads"], _sudo=sudo)
    script_installed(name="Install rollbook's host script", path=script_path(state_dir), text=SCRIPT,
                     current=now["script"], _sudo=sudo)
    marked(name=f"Enrol the host in {environment} ({marker})", marker=marker, environment=environment,
           current=now["marker"], _sudo=sudo)
    recorded(name="Record the enrollment in the host's history", environment=environment, user=user,
             state_dir=state_dir, operator=identity.of_data(settings, None).name, _sudo=sudo)
    pipeline.finish_deploy(current, settings, _sudo=sudo)


@operation()
def recorded(environment: str, user: str, state_dir: str, operator: str):
    """Append an ``enrolled`` record to the host's history (``operator``: who enrols it): never a change::

        recorded(name="Record the enrollment", environment="prod", user="rollbook", state_dir="/var/lib/rollbook",
                 operator="alice")
    """
    if not executing():
        return
    record = {"event": "enrolled", "at": runs.utc_now(), "run_id": runs.RUN_ID, "system": "rollbook",
              "kind": "bootstrap", "deploy": "deploys/bootstrap.py", "environment": environment,
              "operator": operator, "user": user, "authorization": {"mode": "enrollment"}}
    ok, output = run_on_host(append_history(state_dir, record, inline=True))
    if not ok:
        yield command("echo {said} >&2; exit 1", said=f"could not record the enrollment: {output.stderr.strip()}")
