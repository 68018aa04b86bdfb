"""One run as the controller knows it (a pyinfra process is one run, one ``RUN_ID``)::

    run = SESSION.register(host.name, HostRun(system="vision", kind="rollback", ...))
    SESSION.current(host.name, "vision").verified      # True once its verification passed
"""

import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

RUN_ID = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
# the console's run this pyinfra process is (``rollbook.console.runner`` sets it): its history records name it
CONSOLE_RUN = os.environ.get("ROLLBOOK_CONSOLE_RUN", "") if re.fullmatch(
    r"[0-9a-f]{16}", os.environ.get("ROLLBOOK_CONSOLE_RUN", "")) else ""
CONTROLLER = socket.gethostname()
PID = os.getpid()
# the PID's namespace: two controllers may share a host name (containers on one machine), not a PID namespace
PID_NAMESPACE = os.readlink("/proc/self/ns/pid") if os.path.exists("/proc/self/ns/pid") else ""
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # every time a record or a lock holds (UTC)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime(TIME_FORMAT)


def utc_time(text: str) -> datetime:
    """``text`` (``TIME_FORMAT``) as a UTC time; ValueError when it is not one."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


@dataclass
class HostRun:
    """Everything a host's history record says about this run of one system."""

    system: str
    kind: str  # rollback | enable | converge | drift_correction
    deploy: str
    environment: str
    authorization: dict = field(default_factory=dict)  # {"mode": "self-service" | "approval" | "emergency", ...}
    scope: dict = field(default_factory=dict)  # the data that defines the run (what an approval binds)
    reason: str = ""
    units_before: dict = field(default_factory=dict)  # recorded state before the run (unit -> state)
    units_after: dict = field(default_factory=dict)  # the state this run converges (unit -> state)
    sources_before: dict = field(default_factory=dict)  # recorded beside the units before the run (unit -> source)
    sources_after: dict = field(default_factory=dict)  # where this run restores units from (unit -> source)
    data_before: dict = field(default_factory=dict)  # the data digests recorded with the state before the run
    data_after: dict = field(default_factory=dict)  # the data digests this run records (rollbook.pipeline.recorded)
    changes: list[str] = field(default_factory=list)  # "KEY: old -> new", secrets masked
    cleanup: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)  # metrics captured before the change
    verify: list[str] = field(default_factory=list)
    verified: bool | None = None  # None: not verified, or unproven (``unproven`` says why)
    unproven: list[str] = field(default_factory=list)  # the checks that could not tell (no traffic, no probe)
    started: float = 0.0  # time.monotonic() when the run took its lock (its duration)
    state_dir: str = "/var/lib/rollbook"
    lock_held: bool = False
    heartbeat: object = None  # the greenlet refreshing the lock while the run holds it
    finished: bool = False
    run_id: str = RUN_ID
    operator: str = ""  # the principal (or fingerprint) of the SSH key rollbook connects with
    refusal: str = ""  # why the run is refused on this host (recorded and failed by its first command)
    system_state: bool = True  # a system's run records its units in state.json; another deploy's does not
    enrolling: bool = False  # the bootstrap: the host is not enrolled yet (no marker, no rollbook user)
    first_op: int = 0  # a deploy's first operation in its host's order (its plan: those after it)
    # how the run ended on this host, as its history says: converged, no_change, unproven, failed, restored,
    # aborted, refused ('' while it runs, or when nothing was recorded); the step that failed, if one did
    outcome: str = ""
    failed_step: str = ""
    logs_command: object = ""  # prints the service's recent log lines, masked (``Stages.logs``)
    diagnostics: list[str] = field(default_factory=list)  # those lines, read when a step failed

    @property
    def private_dir(self) -> str:
        """Where the run puts files only root may read (a secret a check needs); made by the lock step."""
        return f"{self.state_dir}/private"

    # in private_dir: ``.started`` holds the UTC stamp the run took its lock at (the backups made after it are this
    # run's); ``.restored`` is left by a restart step that put the previous env file back (history: ``restored``)
    started_marker = property(lambda self: f"{self.private_dir}/{self.run_id}-{self.system}.started")
    restored_marker = property(lambda self: f"{self.private_dir}/{self.run_id}-{self.system}.restored")


class Session:
    """What one pyinfra process (one run) knows across hosts (``SESSION``)."""

    def __init__(self):
        self.runs: dict[tuple[str, str], HostRun] = {}
        self.fail_percent: int | None | str = "unset"
        self.callbacks = False
        self.approvals: dict[str, dict] = {}  # host -> the approval document verified for it
        self.computed: dict[tuple, object] = {}  # what ``once`` computed, by key
        self.settings: dict[str, object] = {}  # host -> its settings, validated once (rollbook.core.loader.load)
        self.secrets: set[str] = set()  # every secret value the run read (rollbook.core.secrets): never in its notice

    @cached_property
    def plan(self):
        """The run's plan (``rollbook.pipeline.plan.Plan``), host by host."""
        from ..pipeline.plan import Plan

        return Plan()

    def once(self, key: tuple, compute):
        """``compute()``'s value, computed the first time this run asks for ``key``::

            count = SESSION.once(("vision s3 cache", endpoint, bucket), lambda: len(s3.keys_of(target, CACHE)))
        """
        if key not in self.computed:
            self.computed[key] = compute()
        return self.computed[key]

    def register(self, host_name: str, run: HostRun) -> HostRun:
        self.runs[(host_name, run.system)] = run
        return run

    def current(self, host_name: str, system: str) -> HostRun | None:
        return self.runs.get((host_name, system))

    def of_host(self, host_name: str) -> list[HostRun]:
        return [run for (name, _), run in self.runs.items() if name == host_name]


SESSION = Session()
current = SESSION.current
