"""The sandbox's state file: which hosts run, on which 127.0.0.1 ports, in which groups.

Written by ``sandbox up``; read by ``inventories/sandbox.py`` and the tests::

    state = load()
    state.host("vision-1").port("redis")      # published 127.0.0.1 port of its Redis
"""

import json
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from . import SandboxError
from .paths import sandbox_dir


@dataclass
class SandboxHost:
    name: str
    role: str
    group: str
    container: str
    ports: dict[str, int]  # service -> published 127.0.0.1 port
    data: dict = field(default_factory=dict)

    def port(self, service: str) -> int:
        return self.ports[service]


@dataclass
class State:
    hosts: list[SandboxHost] = field(default_factory=list)
    s3_endpoint: str = ""

    def host(self, name: str) -> SandboxHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise SandboxError(f"no sandbox host named {name!r}")

    def in_group(self, group: str) -> list[SandboxHost]:
        return [host for host in self.hosts if host.group == group]


APPROVER = "approver@sandbox.rollbook.test"  # the sandbox's approver (its key: approver_key_path())
OPERATOR = "operator@sandbox.rollbook.test"  # the principal of the sandbox key rollbook connects with


def _in_sandbox_dir(name: str) -> Path:
    return sandbox_dir() / name


# each a function returning its file's path in sandbox_dir() (read at each call: ROLLBOOK_SANDBOX_DIR may change)
approver_key_path = partial(_in_sandbox_dir, "approver")
allowed_signers_path = partial(_in_sandbox_dir, "allowed_signers")
ssh_key_path = partial(_in_sandbox_dir, "id_ed25519")  # the key rollbook connects with as ``rollbook`` (``OPERATOR``)
# root's key on the sandbox hosts: the self-service inventory (``inventories/sandbox.py``), the probes and
# enrollment; never the key the prod-shaped inventory connects with
root_key_path = partial(_in_sandbox_dir, "root_ed25519")
# the keys ``deploys/bootstrap.py`` authorizes for the ``rollbook`` user (``ssh_key_path``'s)
rollbook_authorized_keys_path = partial(_in_sandbox_dir, "rollbook_authorized_keys")
known_hosts_path = partial(_in_sandbox_dir, "known_hosts")
secrets_path = partial(_in_sandbox_dir, "secrets.env")
# names the sandbox's notification endpoint (an e2e test's local receiver), when one listens
notify_url_path = partial(_in_sandbox_dir, "notify_url")
state_path = partial(_in_sandbox_dir, "state.json")


def notify_url() -> str | None:
    path = notify_url_path()
    return path.read_text().strip() or None if path.is_file() else None


def load() -> State:
    path = state_path()
    if not path.exists():
        raise SandboxError(f"no sandbox state at {path}: run `make sandbox` first")
    raw = json.loads(path.read_text())
    return State(hosts=[SandboxHost(**host) for host in raw["hosts"]], s3_endpoint=raw.get("s3_endpoint", ""))


def save(state: State):
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")


def inventory_groups(groups, as_production: bool = False) -> dict[str, list]:
    """pyinfra inventory groups ``{group: [(name, data), ...]}`` for ``groups``.

    Every group named is present (empty when no host has that role), so an
    inventory file can bind each group to a name even before the sandbox runs.
    ``as_production``: the hosts as production reaches them (the ``rollbook`` user; sudo and every
    security setting come from group data, ``group_data/sandbox_prod.py``). Host data holds only
    where to connect (address, port, key).
    """
    result = {group: [] for group in groups}
    if not state_path().exists():
        return result
    for each in load().hosts:
        data = {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": each.port("ssh"),
            "ssh_user": "rollbook" if as_production else "root",
            "ssh_key": str(ssh_key_path() if as_production else root_key_path()),
            **each.data,
        }
        result.setdefault(each.group, []).append((each.name, data))
    return result


def sandbox_s3_endpoint() -> str | None:
    """The running sandbox's S3 endpoint, or None when there is no sandbox."""
    return load().s3_endpoint if state_path().exists() else None
