"""``rollbook trust-host``: record a new host's key on the controller, only once it matches the
fingerprint the operator was given (from the console of the machine, or its provisioning log).

Strict host key checking stays on for every run: a host whose key is not recorded cannot be
reached, and a key is recorded only here, after the comparison. A host that already has another key
recorded is refused (a changed key is investigated, never overwritten)::

    rollbook trust-host inventories/prod.py vision-worker-04.prod.rollbook.internal \\
        --fingerprint SHA256:Nz3k...
"""

import subprocess
from pathlib import Path

from ..core.identity import _fingerprint  # ssh-keygen -l of one key line
from ..core.loader import address_of
from .remote import load_inventory


class HostKeyError(Exception):
    """The key could not be recorded; the message says why."""


def _scan(address: str, port: int, timeout: int = 10) -> list[str]:
    done = subprocess.run(["ssh-keyscan", "-T", str(timeout), "-p", str(port), address], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("#")]


def trust(inventory: str, name: str, fingerprint: str) -> str:
    """Record ``name``'s host key in its environment's known_hosts file when one of the keys it offers
    has ``fingerprint``; say what was done."""
    if not fingerprint.startswith("SHA256:"):
        raise HostKeyError(f"--fingerprint {fingerprint!r}: expected SHA256:... (ssh-keygen -lf on the host's key)")
    hosts = [host for host in load_inventory(inventory) if host.name == name]
    if not hosts:
        raise HostKeyError(f"no host {name} in {inventory}")
    address, port, known_hosts = address_of(hosts[0])
    known = Path(known_hosts).expanduser()
    offered = _scan(address, port)
    if not offered:
        raise HostKeyError(f"{name} ({address}:{port}) offered no host key")
    matching = [line for line in offered if _fingerprint(line) == fingerprint]
    if not matching:
        raise HostKeyError(f"{name} ({address}:{port}) offers no key with fingerprint {fingerprint}: "
                           "nothing recorded (check the fingerprint with the host's owner)")
    key_type, key_data = matching[0].split()[1:3]
    entry = address if port == 22 else f"[{address}]:{port}"  # how known_hosts names it
    lines = known.read_text().splitlines() if known.is_file() else []
    recorded = [line.split() for line in lines if line.split()[:1] == [entry]]
    if any(fields[1:3] == [key_type, key_data] for fields in recorded):
        return f"{name}: its key ({fingerprint}) is already recorded in {known}"
    if any(fields[1] == key_type for fields in recorded if len(fields) > 2):
        raise HostKeyError(f"{name}: another {key_type} key is recorded for {entry} in {known}: a changed host key "
                           "is investigated, never overwritten here")
    known.parent.mkdir(parents=True, exist_ok=True)
    with known.open("a") as handle:
        handle.write(f"{entry} {key_type} {key_data}\n")
    return f"{name}: recorded its {key_type} key ({fingerprint}) in {known}"
