"""The pipeline every system's deploy shares (DESIGN.md): authorize, lock, record, and on failure
record and unlock. A system's ``@deploy`` calls::

    run = pipeline.begin("vision", kind="rollback", scope={...}, units_before=..., units_after=...)
    ...  # converge, apply, cleanup, verify
    pipeline.finish(run, changed=any_change)

``begin`` authorizes at prepare time (production: a signed approval or an emergency
override; staging and sandbox are self-service) and refuses with one line, recorded in
the host's history; at execute time it takes the lock and records the run's intent.
"""

from pathlib import Path

from pyinfra import host, logger
from pyinfra.api import BaseStateCallback
from pyinfra.context import state

from .. import approvals, history, identity, runs, schema
from ..operations import run as run_ops
from ..report import dry_run
from ..preflight import PreflightError, boolean, choice, positive_int, require
from ..paths import checkout

REPO = checkout()
ENVIRONMENTS = ("sandbox", "staging", "prod")
EMERGENCY_LEVELS = ("p0", "p1")  # as `choice` compares: lower case


def _require(key: str):
    return require(host.data, key)


def run_kind(target: str | None, data) -> str:
    """How history names a run: rollback, enable, converge, or drift_correction."""
    if target is not None:
        return {"rolled_back": "rollback", "enabled": "enable"}[target]
    return "drift_correction" if boolean(require(data, "rollbook_drift_correction"), "rollbook_drift_correction") \
        else "converge"


def state_dir() -> str:
    return str(_require("rollbook_state_dir"))


def deploy_name() -> str:
    filename = getattr(state, "current_deploy_filename", None) or "?"
    path = Path(filename).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(filename)


def allowed_signers(data) -> Path:
    """The allowed-signers file the environment's group data names: a file inside the repo."""
    named = str(require(data, "rollbook_allowed_signers"))
    path = (REPO / named).resolve()
    if Path(named).is_absolute() or not path.is_relative_to(REPO):
        raise PreflightError(f"rollbook_allowed_signers: {named!r} is not a path inside the repo")
    return path


def preflight():
    """A system's first step, before any host command: no unknown ``--data`` key, no security
    setting overridden, every value of its declared type (one line naming the key otherwise)."""
    schema.refuse_override(host.inventory.get_override_data())
    schema.validate(host.data)


def _authorize(run: runs.HostRun, preapproved: bool) -> dict:
    if run.environment != "prod":
        return {"mode": "self-service"}
    if preapproved:
        return {"mode": "recorded-state", "note": "converges to the state an authorized run recorded"}
    level = host.data.get("emergency")
    if level:
        level = choice(level, EMERGENCY_LEVELS, "emergency").upper()
        oncall, reason = host.data.get("oncall"), host.data.get("reason")
        if not oncall or not reason:
            raise PreflightError("an emergency override needs --data oncall=<name> and --data reason=<why>")
        return {"mode": "emergency", "level": level, "oncall": str(oncall), "reason": str(reason),
                "needs_notification": True, "notification": "pending"}  # sent when the run starts changing
    path = host.data.get("approval")
    if not path:
        raise approvals.ApprovalError(
            "production needs an approval (python -m rollbook approve ...; then --data approval=FILE) "
            "or an emergency override (--data emergency=P0|P1 --data oncall=NAME --data reason=...)")
    operator = identity.of_data(host.data, allowed_signers(host.data))
    if not operator.known:
        raise approvals.ApprovalError("cannot tell who runs this: no SSH key (ssh_key data or an agent's key), "
                                      "so a self-approval could not be told apart")
    doc = approvals.verify(path, allowed_signers(host.data), environment=run.environment, deploy=run.deploy,
                           scope=run.scope, host=host.name, operator=operator,
                           max_hours=float(_require("rollbook_approval_max_hours")))
    return {"mode": "approval", "approver": doc["approver"], "approval": str(path), "approved_reason": doc["reason"],
            "expires_at": doc["expires_at"]}


def fail_percent(data) -> int | None:
    """``rollbook_fail_percent``: None, or 0-100."""
    value = data.get("rollbook_fail_percent")
    if value in (None, "", "none", "None"):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(value) > 100:
        raise PreflightError(f"rollbook_fail_percent: {value!r} is not a percentage (0-100) or None")
    return int(value)


def _take_fail_percent(value: int | None):
    """One threshold per run: every host's data must agree (pyinfra's --fail-percent wins at execute)."""
    known = getattr(state, "_rollbook_fail_percent", "unset")
    if known != "unset" and known != value:
        raise PreflightError(f"rollbook_fail_percent differs between hosts ({known} and {value} on {host.name}): "
                             "set it for the whole run (group data or --data)")
    state._rollbook_fail_percent = value


def _record_on(target, command: str, what: str):
    """Record the end of a run on a host that may be gone (lost mid-run): say so, never raise."""
    try:
        ok, _ = run_ops.run_on_host(command, on=target)
    except Exception as error:  # the connector's own errors (paramiko, socket) when the host is lost
        logger.error(f"{target.print_prefix}unreachable ({type(error).__name__}: {error}): the {what} run stays "
                     "unrecorded and its lock stays held; once the host is back, re-run with --data rollbook_takeover=true")
        return
    if not ok:
        logger.error(f"{target.print_prefix}could not record the {what} run")


def _abandon(state, why: str):
    """The run stops on every host (too many failed): record ``aborted`` and unlock where a run is open."""
    for target in list(state.active_hosts):
        for run in runs.of_host(target.name):
            if run.lock_held and not run.finished:
                run.finished = True
                _record_on(target, run_ops.finish_command(run.state_dir, run, "aborted", why), f"aborted {run.system}")


class _Callbacks(BaseStateCallback):
    @staticmethod
    def operation_start(state, op_hash):
        """Apply ``rollbook_fail_percent`` unless the command line (or a prompt) set the threshold."""
        value = getattr(state, "_rollbook_fail_percent", None)
        if state.config.FAIL_PERCENT is None and value is not None:
            state.config.FAIL_PERCENT = value

    @staticmethod
    def operation_host_error(state, host, op_hash, retry_count=0, max_retries=0):
        """A failed step: record it in history and release the lock, so nothing is left held."""
        step = ", ".join(sorted(state.op_meta[op_hash].names))
        for run in runs.of_host(host.name):
            if run.lock_held and not run.finished:
                run.finished = True
                _record_on(host, run_ops.failure_command(run.state_dir, run, step), f"failed {run.system}")


def _ensure_callbacks():
    if not getattr(state, "_rollbook_callbacks", False):
        state.add_callback_handler(_Callbacks())
        previous = state.should_raise_failed_hosts  # pyinfra's "continue?" prompt, when interactive

        def should_raise_failed_hosts(current) -> bool:
            if previous and previous(current) is False:
                return False
            _abandon(current, f"over {current.config.FAIL_PERCENT}% of hosts failed")
            return True

        state.should_raise_failed_hosts = should_raise_failed_hosts
        state._rollbook_callbacks = True


def begin(system: str, kind: str, scope: dict, units_before: dict, units_after: dict,
          from_record: bool = False) -> runs.HostRun:
    """Authorize this host's run of ``system`` (prepare time) and add the lock-and-record step.

    ``from_record``: the run converges every unit to the host's recorded state; as a drift
    correction it then needs no new approval (an authorized run recorded that state).
    """
    environment = choice(_require("rollbook_environment"), ENVIRONMENTS, "rollbook_environment")
    run = runs.HostRun(system=system, kind=kind, deploy=deploy_name(), environment=environment,
                       authorization={}, scope=scope, reason=str(host.data.get("reason") or ""),
                       units_before=units_before, units_after=units_after,
                       operator=identity.of_data(host.data, allowed_signers(host.data)).name)
    run.state_dir = state_dir()
    _take_fail_percent(fail_percent(host.data))
    try:
        run.authorization = _authorize(run, preapproved=from_record and kind == "drift_correction")
    except approvals.ApprovalError as error:
        refuse(run, str(error))
    runs.register(host.name, run)
    _ensure_callbacks()
    run_ops.begun(name=f"Lock {system} on this host and record the run", system=system, state_dir=run.state_dir,
                  lock_ttl=positive_int(_require("rollbook_lock_ttl"), "rollbook_lock_ttl"),
                  takeover=boolean(_require("rollbook_takeover"), "rollbook_takeover"),
                  marker=str(_require("rollbook_environment_marker")),
                  webhook=host.data.get("rollbook_notify_webhook"))
    return run


def refuse(run: runs.HostRun, why: str):
    """Refuse this run on this host (prepare time): record it in the host's history (not on ``--dry``,
    which writes nothing on any host), then fail with one line."""
    if not dry_run():
        run_ops.run_on_host(run_ops.append_history(run.state_dir, history.refused(run, why)))
    raise PreflightError(f"{host.name}: refused: {why}")


def finish(run: runs.HostRun, changed: bool):
    """Add the last step: the ``finished`` history record and the lock's release."""
    run_ops.finished(name=f"Record the {run.system} run and unlock", system=run.system, state_dir=run.state_dir,
                     changed=changed)
