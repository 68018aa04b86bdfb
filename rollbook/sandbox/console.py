"""The sandbox's console: its settings file, its users and the key it signs approvals with, all in the
sandbox folder (never committed), and the console installed on control-1 as a team installs it::

    ensure_console()      # .sandbox/console.toml, .sandbox/console-users (name role password, 0600)
    url = install_on_control()     # deploys/drift_timer.py, the team's files, deploys/console.py
    # -> http://127.0.0.1:8480/ (control-1 shares the machine's network; the console listens on 127.0.0.1)
"""

import io
import secrets
import subprocess
import sys
import tarfile
from pathlib import Path

from ..console.config import APPROVER_DOMAIN
from ..console.users import ROLES, hashed
from . import SandboxError
from .data import rollbook_control_environment
from .hosts import INVENTORIES
from .paths import REPO, sandbox_dir

CONTROL = "control-1"
CONSOLE_PORT = 8480  # rollbook_console_port's default
CONTROL_USER = "rollbook-drift"  # rollbook_control_user's default: the drift check and the console run as it
CONTROL_CHECKOUT = "/opt/rollbook"  # rollbook_control_checkout's default
CONTROL_SANDBOX_DIR = rollbook_control_environment["ROLLBOOK_SANDBOX_DIR"]


def config_path():
    return sandbox_dir() / "console.toml"


def users_path():
    """For people: ``name role password`` per line (mode 0600)."""
    return sandbox_dir() / "console-users"


def approval_key_path():
    return sandbox_dir() / "console" / "approval_ed25519"


def allowed_signer_line() -> str:
    """The allowed-signers line of the console's key: any ``<user>@rollbook-console`` approver."""
    return f"*@{APPROVER_DOMAIN} {approval_key_path().with_suffix('.pub').read_text().strip()}"


def ensure_console(port: int = CONSOLE_PORT):
    """The sandbox console's files, made once: a user per role with a random password, the hashed users
    file the service reads, its approval key and its settings (``sandbox`` self-service, ``prod``
    approved)."""
    folder = sandbox_dir() / "console"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = approval_key_path()
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"console@{APPROVER_DOMAIN}",
                        "-f", str(key)], check=True)
    people, service = users_path(), folder / "users"
    if not people.exists() or not service.exists():
        passwords = {role: secrets.token_urlsafe(12) for role in ROLES}
        for path, lines in ((people, [f"{role} {role} {password}" for role, password in passwords.items()]),
                            (service, [f"{role} {role} {hashed(password)}" for role, password in passwords.items()])):
            path.touch(mode=0o600)
            path.chmod(0o600)
            path.write_text("".join(line + "\n" for line in lines))
    environments = "".join(f'[environments.{name}]\ninventory = "{inventory}"\nself_service = {str(name != "prod").lower()}\n'
                           for name, inventory in INVENTORIES.items())
    config_path().write_text(f'port = {port}\nusers = "{service}"\nstate = "{folder / "state"}"\n'
                             f'approval_key = "{key}"\nretention_days = 30\n{environments}')


def users() -> dict[str, tuple[str, str]]:
    """The sandbox's console users: name -> (role, password)."""
    return {name: (role, password) for name, role, password in
            (line.split() for line in users_path().read_text().splitlines() if line.strip())}


def place(container, files: dict[str, bytes], folder: str, owner: str, mode: int = 0o600):
    """Put files on a sandbox host as its team would (root, through the engine) in ``folder`` (0700),
    owned by ``owner``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for filename, content in files.items():
            info = tarfile.TarInfo(filename)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    container.exec_run(["install", "-d", "-m", "700", "-o", owner, "-g", owner, folder])
    container.put_archive(folder, buffer.getvalue())
    container.exec_run(["chown", "-R", f"{owner}:{owner}", folder])


def place_control_files(container):
    """What the team places on control-1 for the drift check and the console: the sandbox's state and
    keys, the console's users and approval key, the allowed signers (in the checkout, root's)."""
    from .state import known_hosts_path, root_key_path, secrets_path, ssh_key_path, state_path

    place(container, {"state.json": state_path().read_bytes(), "id_ed25519": ssh_key_path().read_bytes(),
                      "root_ed25519": root_key_path().read_bytes(), "known_hosts": known_hosts_path().read_bytes(),
                      "secrets.env": secrets_path().read_bytes()}, CONTROL_SANDBOX_DIR, CONTROL_USER)
    key = approval_key_path()
    place(container, {"users": (sandbox_dir() / "console" / "users").read_bytes(), "approval_ed25519": key.read_bytes(),
                      "approval_ed25519.pub": key.with_suffix(".pub").read_bytes()}, "/etc/rollbook-console",
          CONTROL_USER)
    from .state import allowed_signers_path

    place(container, {"allowed_signers": allowed_signers_path().read_bytes()}, f"{CONTROL_CHECKOUT}/.sandbox",
          "root", mode=0o644)
    container.exec_run(["chmod", "755", f"{CONTROL_CHECKOUT}/.sandbox"])


def _pyinfra(deploy: str, log, unchanged: bool = False) -> None:
    """``deploy`` on control-1 as an operator runs it; ``unchanged``: it must change nothing (a re-run)."""
    cmd = [str(Path(sys.executable).with_name("pyinfra")), "-y", "--limit", "control", INVENTORIES["sandbox"], deploy]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    changed = [line for line in done.stdout.splitlines() if line.strip().endswith("Success")]
    if done.returncode != 0 or (unchanged and changed):
        said = "failed" if done.returncode else "changed something on a re-run"
        raise SandboxError(f"{deploy} on {CONTROL} {said}:\n" + "\n".join((done.stdout + done.stderr).splitlines()[-25:]))
    log(f"{deploy} on {CONTROL}: done")


def install_on_control(log=print, unchanged: bool = False) -> str:
    """rollbook, then its console, on control-1 (each deploy as an operator runs it); the console's URL.
    ``unchanged``: a re-run, which must change nothing."""
    from .engine import ensure_engine
    from .state import load

    ensure_console()
    _pyinfra("deploys/drift_timer.py", log, unchanged)
    place_control_files(ensure_engine().containers.get(load().host(CONTROL).container))
    _pyinfra("deploys/console.py", log, unchanged)
    return f"http://127.0.0.1:{CONSOLE_PORT}/"
