"""The pipeline every system's deploy runs: preflight -> lock -> backup -> converge -> apply -> verify
-> cleanup -> record, driven from the hooks a system provides (``rollbook.pipeline.stages.Stages``)::

    @deploy("vision")
    def vision(target=None):
        pipeline.run(VISION, target)

Production needs an approval bound to the plan digest, an on-call emergency override, or a drift
correction to the recorded state. A run that is not authorized is still planned (``--dry`` shows the
plan to approve); its first command on each host, the lock step, records the refusal and fails there.
"""

import atexit
import json
import os
import sys
from pathlib import Path

from pyinfra import host, logger
from pyinfra.context import state

from ..core import approvals, identity, runs, schema
from ..core.loader import HostSettings, load
from ..core.paths import checkout
from ..core.preflight import PreflightError
from . import plan as plans
from . import pyinfra_adapter, recorded
from . import record as run_ops
from .record import run_data
from .stages import STATES, Context, Stage, Stages

REPO = checkout()
SESSION = runs.SESSION
PLAN_FILE = "ROLLBOOK_PLAN_FILE"  # where a --dry run also writes its plan (set by `rollbook approve`)
DRIFT_CORRECTION = "deploys/drift_correct.py"  # what `rollbook drift --correct` runs
CORRECTION_DATA = frozenset({"rollbook_takeover"})  # the only --data a drift correction takes

__all__ = ["Context", "Stage", "Stages", "run", "preflight", "begin_deploy", "finish_deploy"]


def run(system: Stages, target: str | None):
    """Run ``system``'s stages on this host to ``target`` (None: every unit to the host's recorded state)."""
    if system.group not in host.groups:
        return  # other systems' hosts in the same inventory
    if target not in (None, *STATES):
        raise PreflightError(f"target: {target!r} is not one of {', '.join(STATES)}")
    settings = preflight()
    request = system.request(settings, target, None)  # bad input fails here, before any host command
    seen = system.inspect(request, settings)
    if target is None:
        request = system.request(settings, None, seen.recorded)
        if not system.units(request, seen):
            logger.warning(f"{host.print_prefix}{system.name}: no recorded state: left alone (no authorized run "
                           "recorded one; rollbook_converge_declared allows the declared state)")
            return
    current = begin(system, request, seen, target, settings)
    ctx = Context(request=request, state=seen, run=current, settings=settings)
    if why := system.refusal(ctx):
        refuse(current, why)
        return
    current.baseline = system.baseline(ctx)
    current.logs_command = system.logs(ctx)
    stages = [system.converge(ctx), system.apply(ctx)]
    system.verify(ctx)  # the effect first: a cleanup that fails later leaves a verified, recorded state
    stages.append(system.cleanup(ctx))
    for stage in stages:
        current.changes += stage.changes
        current.cleanup.update(stage.cleanup)
    changing = _changing([step for stage in stages for step in stage.steps])
    _finish(current, settings, changing, differ=sorted(system.differing(ctx)) if changing else [])


def _changing(steps) -> list[str]:
    """The names of the operations that will change the host (the plan's intents)."""
    return [", ".join(sorted(state.op_meta[step._hash].names)) for step in steps if step.will_change]


def deploy_name() -> str:
    filename = getattr(state, "current_deploy_filename", None) or "?"
    path = Path(filename).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(filename)


def allowed_signers(settings: HostSettings) -> Path:
    """The allowed-signers file the environment's group data names: a file inside the repo."""
    named = settings.rollbook_allowed_signers
    path = (REPO / named).resolve()
    if Path(named).is_absolute() or not path.is_relative_to(REPO):
        raise PreflightError(f"rollbook_allowed_signers: {named!r} is not a path inside the repo")
    return path


def preflight() -> HostSettings:
    """Every deploy's first step: the host's settings, validated once; in prod, an approval given verified."""
    settings = load(host)
    extra = sorted(set(settings.override) - CORRECTION_DATA)
    if deploy_name() == DRIFT_CORRECTION and extra:
        raise PreflightError(f"a drift correction converges to the recorded state and takes no --data "
                             f"({', '.join(extra)}): run it with `rollbook drift --correct`")
    environment = settings.rollbook_environment
    if environment == "prod" and settings.approval and host.name not in SESSION.approvals:
        operator = identity.of_data(settings, allowed_signers(settings))
        if not operator.known:
            raise PreflightError(f"{host.name}: refused: cannot tell who runs this: no SSH key (ssh_key data or an "
                                 "agent's key), so a self-approval could not be told apart")
        try:
            SESSION.approvals[host.name] = approvals.verify(
                settings.approval, allowed_signers(settings), environment=environment, deploy=deploy_name(),
                data=run_data(settings), host=host.name, operator=operator,
                max_hours=settings.rollbook_approval_max_hours)
        except approvals.ApprovalError as error:
            raise PreflightError(f"{host.name}: refused: {error}") from None
    return settings


def _authorize(run: runs.HostRun, settings: HostSettings, preapproved: bool) -> dict:
    if run.environment != "prod":
        return {"mode": "self-service"}
    if preapproved:
        return {"mode": "recorded-state", "note": "converges to the state an authorized run recorded"}
    level = settings.emergency
    if level:
        if not settings.reason:
            raise PreflightError("an emergency override needs --data reason=<why> (the on-call engineer is the "
                                 "owner of the SSH key the run connects with)")
        return {"mode": "emergency", "level": level.upper(), "oncall": run.operator, "reason": str(settings.reason),
                "needs_notification": True, "notification": "pending"}  # sent before the run changes anything
    doc = SESSION.approvals.get(host.name)
    if doc is None:
        raise approvals.ApprovalError(
            "production needs an approval (pyinfra ... --dry shows the plan; rollbook approve signs it; then "
            "--data approval=FILE) or an emergency override (--data emergency=P0|P1 --data reason=...)")
    return {"mode": "approval", "approver": doc["approver"], "approval": str(settings.approval),
            "approval_id": doc["id"], "digest": doc["digest"], "approved_reason": doc["reason"],
            "expires_at": doc["expires_at"]}


def _take_fail_percent(value: int | None):
    """One threshold per run: every host's data must agree (pyinfra's --fail-percent wins at execute)."""
    if (known := SESSION.fail_percent) not in ("unset", value):
        raise PreflightError(f"rollbook_fail_percent differs between hosts ({known} and {value} on {host.name}): "
                             "set it for the whole run (group data or --data)")
    SESSION.fail_percent = value


def _print_plan(environment: str, deploy: str, data: dict, max_hours: float):
    """At the end of a run that never executed (``--dry``...): the plan and its digest, also as a file."""
    if state.is_executing or not SESSION.plan.hosts:
        return
    document = SESSION.plan.document(environment, deploy, data)
    document.update(digest=plans.digest_of(document), max_hours=float(max_hours))
    target = os.environ.get(PLAN_FILE) or \
        (str(REPO / ".plans" / f"{document['digest'][7:23]}.json") if environment == "prod" else "")
    if target:  # for `rollbook approve --plan`
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as error:
            target = f"(not written: {error})"
    print(*plans.render(document), sep="\n", file=sys.stderr)
    print(f"plan digest: {document['digest']}" + (f" (plan: {target})" if target else ""), file=sys.stderr)


def _host_run(settings: HostSettings, **fields) -> runs.HostRun:
    """This host's run of this deploy, as its history records it."""
    return runs.HostRun(deploy=deploy_name(), environment=settings.rollbook_environment,
                        reason=settings.reason or "",
                        operator=identity.of_data(settings, allowed_signers(settings)).name, **fields)


def begin(system: Stages, request, seen, target: str | None, settings: HostSettings) -> runs.HostRun:
    """Authorize this host's run of ``system`` and add its lock-and-record step."""
    kind = {"rolled_back": "rollback", "enabled": "enable"}.get(target) or \
        ("drift_correction" if deploy_name() == DRIFT_CORRECTION else "converge")  # the deploy, never a data value
    current = _host_run(settings, system=system.name, kind=kind, scope=system.scope(settings, request, target),
                        units_before=dict(seen.recorded), units_after=system.units(request, seen),
                        sources_before=dict(getattr(seen, "sources", None) or {}),
                        sources_after=system.sources(request, seen))
    current.data_after = recorded.digests(settings.given, recorded.shaping_keys(system.name, run_data(settings)))
    _open(current, settings, preapproved=target is None and system.from_record(request) and kind == "drift_correction")
    return current


def _open(current: runs.HostRun, settings: HostSettings, preapproved: bool = False, **arguments):
    """Authorize ``current`` (refused, not raised: a --dry still shows the plan), register it, add its lock step."""
    current.state_dir = settings.rollbook_state_dir
    _take_fail_percent(settings.rollbook_fail_percent)
    try:
        current.authorization = {"mode": "enrollment", "note": "the host's admin enrols it"} if current.enrolling \
            else _authorize(current, settings, preapproved=preapproved)
    except approvals.ApprovalError as error:  # still planned (a --dry shows what to approve); refused at execute
        refuse(current, str(error))
    SESSION.register(host.name, current)
    if not SESSION.callbacks:
        pyinfra_adapter.attach(state, SESSION)
        atexit.register(_print_plan, settings.rollbook_environment, deploy_name(), run_data(settings),
                        settings.rollbook_approval_max_hours)
        SESSION.callbacks = True
    if current.kind == "drift_correction" and current.environment == "prod":
        _bind_to_recorded_data(current, settings)
    run_ops.begun(name=f"Lock {current.system} on this host and record the run", system=current.system, **arguments)


def _bind_to_recorded_data(current: runs.HostRun, settings: HostSettings):
    """A prod drift correction converges with the data the last authorized run recorded (refused otherwise)."""
    before = recorded.of(host.get_fact(recorded.RecordedData, state_file=f"{current.state_dir}/state.json",
                                       system=current.system), current.system)
    if not before:
        if current.units_before:
            refuse(current, f"{current.system}: no data recorded with the last authorized run (recorded by an "
                            "older rollbook): a drift correction cannot tell what it would converge with; run an "
                            "approved converge (deploys/converge.py) once")
        return
    if differ := recorded.changed(before, settings.given):
        refuse(current, f"{current.system}: {', '.join(differ)} changed since the last authorized run recorded "
                        "this state: a drift correction converges only with the data recorded then; an approved "
                        "run brings the new value")
    current.data_before = current.data_after = before


def refuse(current: runs.HostRun, why: str):
    """Refuse this run on this host: said now; recorded and failed by the lock step at execute."""
    if not current.refusal:
        current.refusal = why
        logger.warning(f"{host.print_prefix}refused: {why}")


def begin_deploy(name: str, kind: str, settings: HostSettings, enrolling: bool = False,
                 **arguments) -> runs.HostRun:
    """A deploy that is no system's run (the drift timer, the bootstrap, which is ``enrolling``) goes
    through the same authorization, lock and history, recording no system state::

        settings = pipeline.preflight()
        current = pipeline.begin_deploy("drift_timer", "install", settings)
        ...  # the deploy's operations
        pipeline.finish_deploy(current, settings)
    """
    current = _host_run(settings, system=name, kind=kind, system_state=False, enrolling=enrolling)
    current.first_op = len(host.op_hash_order)
    _open(current, settings, **arguments)
    return current


def finish_deploy(current: runs.HostRun, settings: HostSettings, **arguments):
    """The deploy's plan (its operations that will change the host, those run ``_if`` another left out)
    and its last step, the ``finished`` record and the lock's release."""
    ours = state.ops.get(host, {})
    steps = [ours[op_hash].operation_meta for op_hash in host.op_hash_order[current.first_op:]
             if op_hash in ours and not ours[op_hash].global_arguments.get("_if")]
    _finish(current, settings, _changing(steps), **arguments)


def _finish(current: runs.HostRun, settings: HostSettings, changing: list[str], differ=(), **arguments):
    """Add the run's intents (``changing``) to the plan, and its last step: the ``finished`` record, unlocked."""
    SESSION.plan.add(host.name, current.system, current.units_after, changing, current.changes, differ=differ,
                     data=plans.resolved(settings.given, schema.fields(), schema.secret_keys()))
    run_ops.finished(name=f"Record the {current.system} run and unlock", system=current.system,
                     changed=bool(changing), **arguments)
