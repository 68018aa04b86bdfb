"""One run as the controller knows it: its id, operator, authorization, and what each host saw.

A pyinfra process is one run: every host's record carries the same ``RUN_ID``.
Example::

    run = register(host.name, HostRun(system="vision", kind="rollback", ...))
    current(host.name, "vision").changes.append("VISION_PHASH_ENABLED: true -> false")
"""

import getpass
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

RUN_ID = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
CONTROLLER = socket.gethostname()
PID = os.getpid()


def operator() -> str:
    """Who runs this: ``ROLLBOOK_OPERATOR`` when set, else the login name."""
    return os.environ.get("ROLLBOOK_OPERATOR") or getpass.getuser()


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class HostRun:
    """Everything a host's history record says about this run of one system."""

    system: str
    kind: str  # rollback | enable | converge | drift_correction
    deploy: str
    environment: str
    authorization: dict  # {"mode": "self-service" | "approval" | "emergency", ...}
    scope: dict  # the data that defines the run (what an approval binds)
    reason: str
    units_before: dict  # recorded state before the run (unit -> state)
    units_after: dict  # the state this run converges (unit -> state)
    changes: list[str] = field(default_factory=list)  # "KEY: old -> new", secrets masked
    cleanup: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)  # metrics captured before the change
    verify: list[str] = field(default_factory=list)
    verified: bool | None = None
    started_at: str = ""
    started: float = 0.0
    state_dir: str = "/var/lib/rollbook"
    lock_held: bool = False
    heartbeat: object = None  # the greenlet refreshing the lock while the run holds it
    finished: bool = False
    run_id: str = RUN_ID
    operator: str = field(default_factory=operator)

    @property
    def private_dir(self) -> str:
        """Where the run puts files only root may read (a secret a check needs); made by the lock step."""
        return f"{self.state_dir}/private"

    @property
    def restored_marker(self) -> str:
        """Left by a restart step that put the previous env file back (the history then says ``restored``)."""
        return f"{self.private_dir}/{self.run_id}-{self.system}.restored"


_REGISTRY: dict[tuple[str, str], HostRun] = {}


def register(host_name: str, run: HostRun) -> HostRun:
    _REGISTRY[(host_name, run.system)] = run
    return run


def current(host_name: str, system: str) -> HostRun | None:
    return _REGISTRY.get((host_name, system))


def of_host(host_name: str) -> list[HostRun]:
    return [run for (name, _), run in _REGISTRY.items() if name == host_name]
