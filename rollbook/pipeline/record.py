"""The run's own bookkeeping on a host: lock, recorded state, history. Never counted as a change.

``begun`` is a run's first operation and ``finished`` its last; both act only at execute time and run
their one command (``host_command``: the host script ``rollbook/host/scripts/run_record.py``) directly.
"""

import hashlib
import json
import os
import time
from datetime import datetime, timedelta, timezone

import gevent

from pyinfra import host, logger
from pyinfra.api import operation
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS

from ..core import history, notify, runs
from ..core.loader import HostSettings, connection_of, settings_of
from ..core.report import executing
from ..host.scripts import run_record, source
from ..host.sections import json_object
from ..host.shell import fail, q

SCRIPT = source("run_record")
SCRIPT_DIGEST = hashlib.sha256(SCRIPT.encode()).hexdigest()  # what the bootstrap installs


def script_path(state_dir: str) -> str:
    """Where ``deploys/bootstrap.py`` installs the host script."""
    return f"{state_dir}/bin/run_record.py"


def host_command(state_dir: str, command: str, inline: bool = False, **arguments) -> str:
    """The host script's ``command`` with ``arguments`` as one JSON document (``inline``: before bootstrap)::

        >>> host_command("/var/lib/rollbook", "history", history={"event": "refused"})[:60]
        'python3 /var/lib/rollbook/bin/run_record.py history \'{"history": '
    """
    document = json.dumps({**arguments, "state_dir": state_dir, "version": run_record.PROTOCOL}, sort_keys=True)
    runner = f"python3 -c {q(SCRIPT)}" if inline else f"python3 {q(script_path(state_dir))}"
    return f"{runner} {command} {q(document)}"


def unusable(output, state_dir: str) -> str:
    """Why the host script could not run ('' when it answered): missing, another protocol, no python3."""
    said = "\n".join(output.stdout_lines + output.stderr_lines)
    if "python3: not found" in said:
        return "the host has no python3, which rollbook's host script needs: install it, then enrol the host"
    if "VERSION" in said or "can't open file" in said:
        return (f"rollbook's host script ({script_path(state_dir)}) is missing or speaks another protocol than this "
                "rollbook: enrol the host again (deploys/bootstrap.py installs it)")
    return ""


def connector_arguments(target) -> dict:
    """A host's connector arguments (sudo, ...): the operation's inside an operation, else its data's."""
    given = target.current_op_global_arguments or {}
    data = connection_of(target)
    arguments = {key: given[key] if key in given else data.get(key) for key in CONNECTOR_ARGUMENT_KEYS}
    return {key: value for key, value in arguments.items() if value is not None}


def run_on_host(command: str, on=None):
    """Run ``command`` on a host (default: the current one) with its connector arguments."""
    target = on or host
    return target.run_shell_command(command, **connector_arguments(target))


def run_data(settings: HostSettings) -> dict:
    """Every ``--data`` value that reaches the run, as an approval binds them (the approval itself aside)."""
    return {key: value for key, value in settings.override.items() if key != "approval"}


def lock_path(state_dir: str, system: str) -> str:
    return f"{state_dir}/locks/{system}.lock"


def append_history(state_dir: str, record: dict, inline: bool = False) -> str:
    """Append ``record`` to the host's history (mode 0600: it may name what a run changed)."""
    return host_command(state_dir, "history", inline=inline, history=record)


def state_update(run: runs.HostRun, back: bool = False) -> dict | None:
    """The run's target (``back``: the state before it) as the host's recorded state; None for no system's."""
    if not run.system_state:
        return None
    side = "before" if back else "after"
    update = {"units": getattr(run, f"units_{side}"), "last_run": run.run_id, "at": runs.utc_now(), "kind": run.kind}
    update.update({name: value for name in ("sources", "data") if (value := getattr(run, f"{name}_{side}"))})
    if back:
        update["drop"] = sorted(set(run.units_after) - set(run.units_before))
        update["drop_sources"] = sorted(set(run.sources_after) - set(run.sources_before))
    return update


def stale_because(holder: dict, now: datetime | None = None) -> str:
    """Why a held lock is stale ('' when its holder may still be running)."""
    now = now or datetime.now(timezone.utc)
    try:
        expires = runs.utc_time(holder["expires"])
    except (KeyError, ValueError):
        return "unreadable lock"
    if now >= expires:
        return f"expired at {holder['expires']}"
    if holder.get("controller") == runs.CONTROLLER and holder.get("pid_namespace", runs.PID_NAMESPACE) == runs.PID_NAMESPACE:
        try:
            os.kill(int(holder.get("pid", 0)), 0)
        except ProcessLookupError:
            return f"its holder (pid {holder.get('pid')} on {runs.CONTROLLER}) is gone"
        except (PermissionError, ValueError):
            return ""
    return ""


@operation()
def begun(system: str):
    """
    Refuse a host enrolled elsewhere (``rollbook_environment_marker``), a plan other than the approved one,
    or an approval used before; then take the host's lock for ``system`` (a stale one only with
    ``rollbook_takeover``), record the run's target as the host's state and append a ``started`` history
    record. The rest comes from the host's settings (``settings_of``). Example::

        run_ops.begun(name="Lock vision and record the run", system="vision")
    """
    if executing():
        failure = _take_lock(system)
        if failure is not None:
            yield failure


def _take_lock(system: str):
    """``begun`` at execute time: None once this run holds the lock, else the command that fails the operation."""
    run, settings = runs.current(host.name, system), settings_of(host)
    state_dir, lock_ttl, marker = run.state_dir, settings.rollbook_lock_ttl, settings.rollbook_environment_marker

    def refused(why: str, said: str = ""):
        """Record the refusal in the host's history; fail with ``said`` (default: '<host>: refused: <why>')."""
        run_on_host(append_history(state_dir, inline=run.enrolling, record=history.refused(run, why)))
        run.outcome, run.refusal = "refused", why  # for the run's end notice (rollbook.core.run_notice)
        return fail(said or f"{host.name}: refused: {why}")

    if run.refusal:  # the run's first command on this host: nothing has changed it yet
        return refused(run.refusal)
    approved = run.authorization.get("mode") == "approval"
    if approved:
        planned = runs.SESSION.plan.digest(run.environment, run.deploy, run_data(settings))
        if planned != run.authorization["digest"]:
            return refused(f"the plan differs from the approved one (approved {run.authorization['digest'][:19]}…, "
                           f"this run {planned[:19]}…): a host changed since the --dry, or the run is not the one "
                           "approved; approve the new plan")
    if run.authorization.get("mode") == "emergency":
        run.authorization["notification"] = notify.emergency(run, settings.rollbook_notify_webhook)
    now = datetime.now(timezone.utc)
    info = json.dumps({"run_id": run.run_id, "operator": run.operator, "controller": runs.CONTROLLER,
                       "pid": runs.PID, "pid_namespace": runs.PID_NAMESPACE, "since": now.strftime(runs.TIME_FORMAT),
                       "expires": (now + timedelta(seconds=lock_ttl)).strftime(runs.TIME_FORMAT)})
    # an approval is used once: checked and recorded with the lock, under the same guard
    approval = run.authorization["approval_id"] if approved else ""
    owner = settings.ssh_user if settings.sudo and not run.enrolling else None  # sudo'd uploads land in its folder
    ok, output = run_on_host(host_command(
        state_dir, "begin", inline=run.enrolling, system=system, info=info, approval=approval,
        marker="" if run.enrolling else marker,  # the bootstrap writes the marker itself
        environment=run.environment, private_dir=run.private_dir, started_marker=run.started_marker,
        state=state_update(run), history=history.started(run),
        uploads=[f"{state_dir}-uploads", owner] if owner else None))
    lines = output.stdout_lines
    if not ok and unusable(output, state_dir):
        return fail(f"{host.name}: refused: {unusable(output, state_dir)}")
    if not ok or not lines:
        return fail(f"could not take the {system} lock on {host.name}: {output.stderr.strip()}")
    if lines[0] == "ENROLLED":
        why = f"{host.name} is enrolled as {(lines[1:] or ['?'])[0]!r} ({marker}), not {run.environment!r}"
        return refused(why, f"{why}: refused (a host's environment is its enrollment, not the controller's data)")
    if lines[0] == "HELD":
        seen, holder = (lines[1:2] or [""])[0], json_object(lines[2:])
        why = stale_because(holder, now)
        if not (why and settings.rollbook_takeover):
            message = f"{system} on {host.name} is locked by {_who(holder)} since {holder.get('since', '?')}"
            if why:
                message += f"; the lock is stale ({why}): re-run with --data rollbook_takeover=true to take it over"
            return refused(message, message)
        ok, output = run_on_host(takeover_command(state_dir, run, info, seen, holder, approval))
        lines = output.stdout_lines
        if not ok or not lines:
            return fail(f"could not take over the {system} lock on {host.name}: {output.stderr.strip()}")
        if lines[0] == "TAKEN":
            logger.warning(f"{host.print_prefix}took over the stale {system} lock of "
                           f"{holder.get('operator')} (run {holder.get('run_id')}): {why}")
        elif lines[0] != "REUSED":
            winner = json_object(lines[1:])
            message = (f"{system} on {host.name}: the stale lock was taken over first by {_who(winner)}" if winner
                       else f"{system} on {host.name}: the stale lock changed while taking it over; re-run")
            return refused(message, message)
    if lines[0] == "REUSED":  # the lock's answer or the takeover's: an approval is used once
        return refused(f"approval {run.authorization.get('approval')} was already used on {host.name}: an approval "
                       "is used once")
    run.lock_held, run.started = True, time.monotonic()
    run.heartbeat = gevent.spawn(_heartbeat, host, run, state_dir, lock_ttl)
    return None


def _who(holder: dict) -> str:
    """A lock's holder as a refusal names it."""
    return (f"{holder.get('operator', '?')} (run {holder.get('run_id', '?')}, pid {holder.get('pid', '?')} on "
            f"{holder.get('controller', '?')})")


def takeover_command(state_dir: str, run: runs.HostRun, info: str, seen: str, holder: dict,
                     approval: str = "") -> str:
    """The host script's ``takeover`` of the stale lock read as ``seen`` (of two controllers one reads ``TAKEN``)."""
    return host_command(state_dir, "takeover", inline=run.enrolling, system=run.system, seen=seen, info=info,
                        approval=approval, started_marker=run.started_marker, state=state_update(run),
                        history=history.started(run, takeover_of=holder))


def refresh_command(state_dir: str, run: runs.HostRun, lock_ttl: int) -> str:
    """Push the lock's expiry ``lock_ttl`` seconds ahead, only while this run still holds it."""
    expires = (datetime.now(timezone.utc) + timedelta(seconds=lock_ttl)).strftime(runs.TIME_FORMAT)
    return host_command(state_dir, "refresh", inline=run.enrolling, system=run.system, run_id=run.run_id,
                        expires=expires)


def _heartbeat(target, run: runs.HostRun, state_dir: str, lock_ttl: int):
    """While the run holds its lock, refresh it every third of its time to live (a greenlet)."""
    while True:
        gevent.sleep(max(1, lock_ttl / 3))
        if run.finished:
            return
        try:
            ok, _ = run_on_host(refresh_command(state_dir, run, lock_ttl), on=target)
        except Exception as error:  # a host lost mid-run: the run's own steps report it
            logger.warning(f"{target.print_prefix}could not refresh the {run.system} lock: {error}")
            return
        if not ok:
            logger.warning(f"{target.print_prefix}could not refresh the {run.system} lock")


def finish_command(state_dir: str, run: runs.HostRun, outcome: str, failed_step: str = "") -> str:
    """The ``finished`` record (``outcome``), then the lock released."""
    record = history.finished(run, outcome, time.monotonic() - run.started, failed_step)
    return host_command(state_dir, "finish", inline=run.enrolling, system=run.system, run_id=run.run_id,
                        started_marker=run.started_marker, history=record)


def failure_command(state_dir: str, run: runs.HostRun, failed_step: str) -> str:
    """The host script's ``fail``: the failed step recorded ``restored`` or ``failed``, then the lock released."""
    took = time.monotonic() - run.started
    return host_command(state_dir, "fail", inline=run.enrolling, system=run.system, run_id=run.run_id,
                        started_marker=run.started_marker, restored_marker=run.restored_marker,
                        state=state_update(run, back=True),
                        restored=history.finished(run, "restored", took, failed_step),
                        failed=history.finished(run, failed_outcome(run), took, failed_step))


def failed_outcome(run: runs.HostRun) -> str:
    """How a failed step's run ends when nothing was restored: ``unproven`` when the step was a verification
    that could not tell (in prod, not accepted: ``rollbook.host.verify``), else ``failed``."""
    return "unproven" if run.outcome == "unproven" else "failed"


@operation()
def finished(system: str, changed: bool):
    """
    Append the ``finished`` history record and release this run's lock. Example::

        run_ops.finished(name="Record the run and unlock vision", system="vision", changed=True)
    """
    if not executing():
        return
    run = runs.current(host.name, system)
    run.outcome = "unproven" if run.unproven else "converged" if changed else "no_change"
    ok, output = run_on_host(finish_command(run.state_dir, run, run.outcome))
    run.finished = True
    if run.heartbeat is not None:
        run.heartbeat.kill(block=False)
    if not ok:
        yield fail(f"could not record the {system} run on {host.name}: {output.stderr.strip()}")
