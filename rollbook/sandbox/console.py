"""The sandbox's console: its settings file, its users and the key it signs approvals with, all in the
sandbox folder (never committed)::

    ensure_console()      # .sandbox/console.toml, .sandbox/console-users (name role password, 0600)
    # rollbook serve --config .sandbox/console.toml      -> http://127.0.0.1:8480/
"""

import secrets
import subprocess

from ..console.config import APPROVER_DOMAIN
from ..console.users import ROLES, hashed
from .hosts import INVENTORIES
from .paths import sandbox_dir


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


def ensure_console(port: int = 8480):
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
