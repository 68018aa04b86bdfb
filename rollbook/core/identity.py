"""Who runs rollbook: the SSH key it connects with and that key's principals in an allowed-signers file
(never an environment variable, a login name or a ``<key>.pub`` file)::

    me = of_data({"ssh_key": "~/.ssh/id_ed25519"}, Path("approvals/allowed_signers"))
    me.name            # 'bob@example.com' (or 'SHA256:...' when the key is in no allowed-signers line)
    me.fingerprints    # {'SHA256:...'}
"""

import getpass
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .runs import SESSION


@dataclass(frozen=True)
class Operator:
    name: str  # a principal of the key, else its fingerprint, else "<login> (no SSH key)"
    principals: frozenset[str] = frozenset()
    fingerprints: frozenset[str] = frozenset()

    @property
    def known(self) -> bool:
        """Whether a key identifies the operator (a run in prod needs one)."""
        return bool(self.fingerprints)


def _fingerprint(public_key: str) -> str:
    done = subprocess.run(["ssh-keygen", "-l", "-f", "-"], input=public_key + "\n", capture_output=True, text=True)
    fields = done.stdout.split()
    return fields[1] if done.returncode == 0 and len(fields) > 1 else ""


def _key_material(line: str) -> tuple[str, str] | None:
    """(type, base64) of a public key or allowed-signers line."""
    fields = line.split()
    for index, field in enumerate(fields[:-1]):
        if field.startswith(("ssh-", "ecdsa-", "sk-")):
            return field, fields[index + 1]
    return None


def principals_of(public_key: str, allowed_signers: Path | None) -> set[str]:
    """The principals the allowed-signers file lists for ``public_key``."""
    wanted = _key_material(public_key)
    if not wanted or not allowed_signers or not Path(allowed_signers).is_file():
        return set()
    found = set()
    for line in Path(allowed_signers).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and _key_material(line) == wanted:
            found.update(name for name in line.split()[0].split(",") if name)
    return found


def _public_keys(key_path: str | None) -> list[str]:
    """The public keys rollbook connects with: ``ssh_key``'s (none when it needs a passphrase), else the agent's."""
    if key_path:
        path = Path(os.path.expanduser(key_path))
        if not path.is_file():
            return []
        done = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(path)], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        key = done.stdout.strip()
        return [key] if done.returncode == 0 and _key_material(key) else []
    if not os.environ.get("SSH_AUTH_SOCK"):
        return []
    done = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return [line for line in done.stdout.splitlines() if _key_material(line)] if done.returncode == 0 else []


def of_key(key_path: str | None, allowed_signers: Path | None) -> Operator:
    """The operator holding ``key_path`` (else the agent's keys), named by ``allowed_signers``; once per run."""
    return SESSION.once(("operator", key_path, allowed_signers), lambda: _of_key(key_path, allowed_signers))


def _of_key(key_path: str | None, allowed_signers: Path | None) -> Operator:
    keys = _public_keys(key_path)
    fingerprints = frozenset(filter(None, (_fingerprint(key) for key in keys)))
    principals = frozenset(name for key in keys for name in principals_of(key, allowed_signers))
    if not fingerprints:
        return Operator(f"{getpass.getuser()} (no SSH key)")
    return Operator(min(principals) if principals else min(fingerprints), principals, fingerprints)


def of_data(data, allowed_signers: Path | None) -> Operator:
    """The operator of a run on a host with this data (its ``ssh_key``, else the agent's keys)."""
    key = data.get("ssh_key")
    return of_key(str(key) if key else None, Path(allowed_signers) if allowed_signers else None)
