"""The plan of a run (per host and system, its intents, never volatile counts) and its digest, over the
environment, deploy, hosts, code, ``--data`` and plan: what an approver signs and the real run must match::

    plan = Plan()
    plan.add("vision-1", "vision", units={"b": "rolled_back"}, steps=["Set the vision flags in /opt/vision/.env"],
             changes=["VISION_PHASH_ENABLED: true -> false"], differ=["b"])
    plan.digest("prod", "deploys/vision_rollback.py", {"vision_waves": "b"})    # 'sha256:…'
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.approvals import bound
from ..core.paths import checkout
from ..core.runs import SESSION

PACKAGE = Path(__file__).resolve().parents[1]  # rollbook/: every step, fact, script and SQL a run sends
EXECUTED = ("deploys", "templates")  # the checkout's folders a run executes or renders


@dataclass
class HostPlan:
    units: dict[str, str]  # unit -> the state this run converges it to
    steps: list[str] = field(default_factory=list)  # operations that will change the host, in order
    changes: list[str] = field(default_factory=list)  # what they change (``KEY: old -> new``, secrets masked)
    differ: list[str] = field(default_factory=list)  # the units the host holds in another state
    data: dict[str, str] = field(default_factory=dict)  # every declared value resolved for the host (secrets hashed)


class Plan:
    """The intents of one pyinfra run, host by host."""

    def __init__(self):
        self.hosts: dict[str, dict[str, HostPlan]] = {}

    def add(self, host: str, system: str, units: dict, steps: list[str], changes: list[str],
            differ: list[str] = (), data: dict | None = None):
        self.hosts.setdefault(host, {})[system] = HostPlan(dict(units), list(steps), list(changes), list(differ),
                                                           dict(data or {}))

    def document(self, environment: str, deploy: str, data: dict) -> dict:
        """Everything the digest covers."""
        return {
            "environment": environment, "deploy": deploy, "hosts": sorted(self.hosts), "code": code_digest(),
            "data": {key: bound(value) for key, value in sorted(data.items())},
            "plan": {host: {system: asdict(plan) for system, plan in sorted(systems.items())}
                     for host, systems in sorted(self.hosts.items())},
        }

    def digest(self, environment: str, deploy: str, data: dict) -> str:
        return digest_of(self.document(environment, deploy, data))


def resolved(data, declared, secrets, left_out=("approval",)) -> dict[str, str]:
    """The value of each ``declared`` key in a host's merged ``data``, as the plan binds it (a secret as its SHA-256)::

        >>> resolved({"vision_waves": "b", "token": "s3cr3t"}, ["vision_waves", "token"], {"token"})["vision_waves"]
        'b'
    """
    texts = {name: bound(data.get(name)) for name in sorted(declared)
             if data.get(name) is not None and name not in left_out}
    return {name: "sha256:" + hashlib.sha256(text.encode()).hexdigest() if name in secrets else text
            for name, text in texts.items()}


def code_digest() -> str:
    """SHA-256 over every file a run executes or sends (rollbook's package, deploys and templates)::

        >>> code_digest().startswith("sha256:")
        True
    """
    return SESSION.once(("code digest",), _code_digest)


def _code_digest() -> str:
    root = checkout()
    named = {f"rollbook/{path.relative_to(PACKAGE)}": path for path in _files(PACKAGE)}
    named.update({str(path.relative_to(root)): path for folder in EXECUTED for path in _files(root / folder)})
    total = hashlib.sha256()
    for name in sorted(named):
        total.update(f"{name}\0{hashlib.sha256(named[name].read_bytes()).hexdigest()}\n".encode())
    return "sha256:" + total.hexdigest()


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def digest_of(document: dict) -> str:
    covered = {key: document.get(key) for key in ("environment", "deploy", "hosts", "code", "data", "plan")}
    return "sha256:" + hashlib.sha256(json.dumps(covered, sort_keys=True).encode()).hexdigest()


def render(document: dict) -> list[str]:
    """The plan as an operator and an approver read it."""
    lines = [f"plan of {document['deploy']} in {document['environment']} on {len(document['hosts'])} host(s)",
             f"  code: {document.get('code')}"]
    if document["data"]:
        lines.append("  data: " + " ".join(f"{key}={value}" for key, value in document["data"].items()))
    for host, systems in document["plan"].items():
        for system, plan in systems.items():
            units = ", ".join(f"{unit}={state}" for unit, state in plan["units"].items()) or "(none)"
            lines.append(f"  {host} {system}: {units}")
            if plan.get("differ"):
                lines.append(f"    differs on the host: {', '.join(plan['differ'])}")
            lines += [f"    - {step}" for step in plan["steps"]] or ["    (no change)"]
            lines += [f"      {change}" for change in plan["changes"]]
    return lines
