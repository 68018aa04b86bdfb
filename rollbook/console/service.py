"""What the console does, whichever page or API call asks: plan, approve, run, cancel. Every rule about who
may do what lives here; the API and the pages only translate::

    console = Console(config)
    plan = console.plan(olga, system="vision", action="rollback", environment="sandbox", hosts=["vision-1"],
                        data={"vision_waves": "tokens"})      # the --dry run's plan, with its digest
    run = console.start(olga, plan["id"])                     # queued; runs exactly that plan, once
"""

import logging
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from ..cli.approve import dry_plan
from ..core import approvals
from ..core.preflight import PreflightError
from .collect import CollectError, collect, drift_tick, locks_of, shard_reports
from .config import APPROVER_DOMAIN, ConsoleConfig
from .jobs import checked, job_of
from .runner import Runner
from .store import Store
from .users import User, Users, can

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
APPROVAL_HOURS = 1.0
TAKEOVER = "rollbook_takeover"  # the pipeline's key: take over a stale lock
LOG = logging.getLogger("rollbook.console")


class Refused(Exception):
    """A request the console does not carry out: ``status`` (HTTP) and a message naming why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _must_hold(user: User, right: str, what: str):
    if not can(user, right):
        raise Refused(403, f"{user.name} ({user.role}) may not {what}")


class Console:
    """The console's state: its settings, users, history and the runs going on."""

    def __init__(self, config: ConsoleConfig):
        self.config = config
        self.users = Users.load(config.users)
        self.store = Store.of(config.state)
        self.runner = Runner(self.store, config.state / "runs")
        self._stopped = threading.Event()

    def environment(self, name: str):
        if name not in self.config.environments:
            raise Refused(422, f"environment {name!r}: not one of {', '.join(self.config.environments)}")
        return self.config.environments[name]

    def plan(self, user: User, *, system: str, action: str, environment: str, hosts: list[str],
             data: dict[str, str], takeover: bool = False) -> dict:
        """The ``--dry`` plan of the job on ``hosts`` (all of the environment's when empty), kept with its
        digest; refused before any host is touched when the data or a name is bad. ``takeover`` (admins
        only): the run takes over a stale lock (its holder gone or expired; never a live one)."""
        _must_hold(user, "plan", "plan a run")
        if takeover:
            _must_hold(user, "admin", "take over a lock")
        inventory = self.environment(environment).inventory
        try:
            job = job_of(system, action)
        except KeyError:
            raise Refused(404, f"no job {system} {action}") from None
        bad = [host for host in hosts if not HOST_NAME.match(str(host))]
        if bad:
            raise Refused(422, f"hosts: {', '.join(map(repr, bad))} is not a host name")
        try:
            given = checked(job, {str(key): str(value) for key, value in data.items()})
            given |= {TAKEOVER: "true"} if takeover else {}
            document = dry_plan(inventory, job.deploy, [f"{key}={value}" for key, value in given.items()],
                                list(hosts))
        except (PreflightError, ValueError) as error:
            raise Refused(422, str(error)) from None
        return self.store.add_plan(requester=user.name, system=system, action=action, environment=environment,
                                   hosts=sorted(document["hosts"]), data=given, document=document)

    def _plan(self, plan_id: str) -> dict:
        plan = self.store.plan(plan_id)
        if plan is None:
            raise Refused(404, f"no plan {plan_id}")
        return plan

    def approve(self, user: User, plan_id: str, reason: str = "") -> dict:
        """Sign the plan with the console's key, naming requester and approver; someone else's plan only."""
        _must_hold(user, "approve", "approve a plan")
        plan = self._plan(plan_id)
        if self.environment(plan["environment"]).self_service:
            raise Refused(409, f"{plan['environment']} is self-service: nothing to approve")
        if plan["requester"] == user.name:
            raise Refused(403, f"{user.name} cannot approve a plan they requested")
        if plan["approver"]:
            raise Refused(409, f"plan {plan_id} is approved already (by {plan['approver']})")
        if self.config.approval_key is None:
            raise Refused(409, "this console has no approval_key: approve with `rollbook approve`")
        doc = approvals.document(plan["document"], approver=f"{user.name}@{APPROVER_DOMAIN}",
                                 reason=reason or f"console plan {plan_id}", hours=APPROVAL_HOURS)
        doc["requester"] = f"{plan['requester']}@{APPROVER_DOMAIN}"
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = self.config.state / "approvals" / f"{stamp}-{plan_id}.json"
        try:
            approvals.write_signed(doc, path, self.config.approval_key)
        except approvals.ApprovalError as error:
            raise Refused(500, str(error)) from None
        self.store.approve(plan_id, user.name, str(path))
        return self._plan(plan_id)

    def start(self, user: User, plan_id: str) -> dict:
        """Queue the run of exactly this plan, once: self-service for an operator; elsewhere approved by
        another person and started by its requester or approver."""
        _must_hold(user, "run", "start a run")
        plan = self._plan(plan_id)
        environment = self.environment(plan["environment"])
        data = [f"{key}={value}" for key, value in plan["data"].items()]
        if not environment.self_service:
            if not plan["approver"]:
                raise Refused(403, f"plan {plan_id} is for {plan['environment']}: it needs another person's "
                                   "approval before it runs")
            if user.name not in (plan["requester"], plan["approver"]):
                raise Refused(403, f"only {plan['requester']} or {plan['approver']} may start plan {plan_id}")
            data.append(f"approval={plan['approval']}")
        if not self.store.use(plan_id):
            raise Refused(409, f"plan {plan_id} has run already: plan again")
        self._expire()
        return self.runner.start(plan, user.name, environment.inventory, data)

    def _expire(self):
        """Remove the output of runs that ended more than ``retention_days`` ago (their rows stay)."""
        for run in self.store.expired(time.time() - self.config.retention_days * 86400):
            Path(run["output"]).unlink(missing_ok=True)
            self.store.forget_output(run["id"])

    def locks(self, user: User) -> list[dict]:
        """Who holds which host and system now, since when, read from every environment's hosts."""
        try:
            return [lock | {"environment": name} for name, environment in self.config.environments.items()
                    for lock in locks_of(environment.inventory)]
        except CollectError as error:
            raise Refused(502, str(error)) from None

    def cancel(self, user: User, run_id: str) -> dict:
        run = self.run(run_id)
        if user.name != run["requester"] and not can(user, "admin"):
            raise Refused(403, f"only {run['requester']} or an admin may cancel run {run_id}")
        self.runner.cancel(run_id)
        return self.run(run_id)

    def run(self, run_id: str) -> dict:
        run = self.store.run(run_id)
        if run is None:
            raise Refused(404, f"no run {run_id}")
        return run

    def collect(self, user: User) -> dict[str, int]:
        """Every environment's hosts' history read into the console's (rows seen per environment)."""
        _must_hold(user, "plan", "collect the hosts' history")
        try:
            return self._collect()
        except CollectError as error:
            raise Refused(502, str(error)) from None

    def _collect(self) -> dict[str, int]:
        seen = {name: collect(self.store, name, environment.inventory)
                for name, environment in self.config.environments.items()}
        if self.config.drift_report:
            seen["drift timer"] = sum(drift_tick(self.store, report, self.config.drift_environment)
                                      for report in shard_reports(self.config.drift_report))
        return seen

    def collect_every(self, minutes: int):
        """Collect in the background every ``minutes`` (a failed read is logged and tried again later)."""
        def loop():
            while not self._stopped.wait(minutes * 60):
                try:
                    self._collect()
                except (CollectError, OSError, ValueError) as error:
                    LOG.warning("history not collected: %s", error)
        threading.Thread(target=loop, daemon=True, name="collect").start()

    def output(self, run: dict) -> Path | None:
        path = Path(run["output"]) if run.get("output") else None
        return path if path and path.is_file() else None
