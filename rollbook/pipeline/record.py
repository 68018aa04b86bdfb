"""The run's own bookkeeping on a host: lock, recorded state, history. Never counted as a change.

``begun`` is the first operation of a system's run and ``finished`` the last; both act
only at execute time (a ``--dry`` run takes no lock and records nothing) and run their
one command directly, so a converged host still reports zero changes.
"""

import json
import os
import time
from datetime import datetime, timedelta, timezone

import gevent

from pyinfra import host, logger
from pyinfra.api import operation
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS

from ..core.loader import connection_of

from ..core import history, notify, runs
from ..host.scripts import source
from ..host.shell import fail, q
from ..host.uploads import uploads_folder_command
from ..core.report import executing

# runs on the host: rollbook/host/scripts/state_merge.py (the record merged into state.json under a flock)
_STATE_MERGE = source("state_merge")


def connector_arguments(target) -> dict:
    """A host's connector arguments (sudo, ...): the operation's inside an operation, else those its
    data sets (``_sudo = True`` in group data)."""
    given = target.current_op_global_arguments or {}
    data = connection_of(target)
    arguments = {key: given[key] if key in given else data.get(key) for key in CONNECTOR_ARGUMENT_KEYS}
    return {key: value for key, value in arguments.items() if value is not None}


def run_on_host(command: str, on=None):
    """Run ``command`` on a host (default: the current one) with its connector arguments."""
    target = on or host
    return target.run_shell_command(command, **connector_arguments(target))


def lock_path(state_dir: str, system: str) -> str:
    return f"{state_dir}/locks/{system}.lock"


def append_history(state_dir: str, record: dict) -> str:
    """Append ``record`` to the host's history (mode 0600: it may name what a run changed)."""
    path = q(state_dir + '/history.jsonl')
    return (f"mkdir -p {q(state_dir)} && ( umask 077; printf '%s\\n' {q(history.line(record))} >> {path} ) && "
            f"chmod 600 {path}")


def _record_state(state_dir: str, run: runs.HostRun, back: bool = False) -> str:
    """Record the run's target as the host's state; ``back``: put the state before the run back. A deploy
    that is no system's (the drift timer, the bootstrap) records no state: ``true``."""
    if not run.system_state:
        return "true"
    units = run.units_before if back else run.units_after
    update = {"units": units, "last_run": run.run_id, "at": runs.utc_now(), "kind": run.kind}
    sources = run.sources_before if back else run.sources_after
    if sources:
        update["sources"] = sources
    data = run.data_before if back else run.data_after
    if data:
        update["data"] = data
    if back:
        update["drop"] = sorted(set(run.units_after) - set(run.units_before))
        update["drop_sources"] = sorted(set(run.sources_after) - set(run.sources_before))
    return (f"flock {q(state_dir + '/.state.lock')} python3 -c {q(_STATE_MERGE)} "
            f"{q(state_dir + '/state.json')} {q(run.system)} {q(json.dumps(update))}")


def stale_because(holder: dict, now: datetime | None = None) -> str:
    """Why a held lock is stale ('' when its holder may still be running)."""
    now = now or datetime.now(timezone.utc)
    try:
        expires = datetime.strptime(holder["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (KeyError, ValueError):
        return "unreadable lock"
    if now >= expires:
        return f"expired at {holder['expires']}"
    if holder.get("controller") == runs.CONTROLLER:
        try:
            os.kill(int(holder.get("pid", 0)), 0)
        except ProcessLookupError:
            return f"its holder (pid {holder.get('pid')} on {runs.CONTROLLER}) is gone"
        except (PermissionError, ValueError):
            return ""
    return ""


@operation()
def begun(system: str, state_dir: str, lock_ttl: int, takeover: bool, marker: str, webhook: str | None = None,
          data: dict | None = None, uploads_owner: str | None = None):
    """
    Check that the host was enrolled in the run's environment, take this host's lock for
    ``system``, record the run's target as the host's recorded state, and append a ``started``
    history record. A host enrolled elsewhere (or not at all) is refused before anything
    changes; a held lock fails at once naming its holder; a stale one is taken over only
    with ``takeover``.

    + system: the system's name (one lock per host and system)
    + state_dir: rollbook's folder on the host (``/var/lib/rollbook``)
    + lock_ttl: seconds after which an unreleased lock is stale
    + takeover: take over a stale lock
    + marker: the file naming the environment the host was enrolled in (``/etc/rollbook/environment``)
    + webhook: called (once per run) when an emergency override starts changing hosts
    + data: the run's ``--data`` values (an approved run's plan digest covers them)
    + uploads_owner: the SSH user whose private uploads folder sudo'd uploads land in (None: no sudo)

    An approved run goes on only when its plan (every host's, now that all are prepared) has the
    digest the approver signed, and when the approval was never used on this host before; its id
    is recorded on the host with the lock.

    Example:

    .. code:: python

        run_ops.begun(name="Lock vision and record the run", system="vision",
                      state_dir="/var/lib/rollbook", lock_ttl=1800, takeover=False,
                      marker="/etc/rollbook/environment")
    """
    if not executing():
        return
    run = runs.current(host.name, system)
    if run.refusal:  # the run's first command on this host: nothing has changed it yet
        run_on_host(append_history(state_dir, history.refused(run, run.refusal)))
        yield fail(f"{host.name}: refused: {run.refusal}")
        return
    approved = run.authorization.get("mode") == "approval"
    if approved:
        planned = runs.SESSION.plan.digest(run.environment, run.deploy, data or {})
        if planned != run.authorization["digest"]:
            why = (f"the plan differs from the approved one (approved {run.authorization['digest'][:19]}…, "
                   f"this run {planned[:19]}…): a host changed since the --dry, or the run is not the one "
                   "approved; approve the new plan")
            run_on_host(append_history(state_dir, history.refused(run, why)))
            yield fail(f"{host.name}: refused: {why}")
            return
    if run.authorization.get("mode") == "emergency":
        run.authorization["notification"] = notify.emergency(run, webhook)
    now = datetime.now(timezone.utc)
    info = json.dumps({"run_id": run.run_id, "operator": run.operator, "controller": runs.CONTROLLER,
                       "pid": runs.PID, "since": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "expires": (now + timedelta(seconds=lock_ttl)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    lock = lock_path(state_dir, system)
    start = (f"date -u +%Y%m%dT%H%M%S.%6NZ > {q(run.started_marker)} && {_record_state(state_dir, run)} && "
             f"{append_history(state_dir, history.started(run))}")
    used, once, mark = q(f"{state_dir}/approvals.used"), "", ""
    if approved:  # an approval is used once: checked and recorded with the lock, under the same guard
        approval = q(run.authorization["approval_id"])
        once = f"if grep -qxF {approval} {used} 2>/dev/null; then echo REUSED; exit 0; fi; "
        mark = f"printf '%s\\n' {approval} >> {used} && chmod 600 {used}"
        start += f" && {mark}"
    take = (f"{once}if ( set -C; printf '%s\\n' {q(info)} > {q(lock)} ) 2>/dev/null; then "  # a lock taken but
            f"{{ {start}; }} || {{ rm -f {q(lock)}; exit 1; }}; echo ACQUIRED; "  # not recorded is given back
            f"else echo HELD; sha256sum < {q(lock)} | cut -c1-64; cat {q(lock)}; fi")
    uploads = f"{uploads_folder_command(state_dir, uploads_owner)} && " if uploads_owner and not run.enrolling else ""
    enrolled = "" if run.enrolling else (  # the bootstrap writes the marker itself
        f"enrolled=$(cat {q(marker)} 2>/dev/null || echo none); if [ \"$enrolled\" != {q(run.environment)} ]; "
        f"then echo ENROLLED; echo \"$enrolled\"; exit 0; fi; ")
    ok, output = run_on_host(
        f"{enrolled}mkdir -p {q(state_dir + '/locks')} && "
        f"install -d -m 700 {q(run.private_dir)} && {uploads}{under_guard(state_dir, system, take)}")
    lines = output.stdout_lines
    if not ok or not lines:
        yield fail(f"could not take the {system} lock on {host.name}: {output.stderr.strip()}")
        return
    if lines[0] == "REUSED":
        why = f"approval {run.authorization['approval']} was already used on {host.name}: an approval is used once"
        run_on_host(append_history(state_dir, history.refused(run, why)))
        yield fail(f"{host.name}: refused: {why}")
        return
    if lines[0] == "ENROLLED":
        why = (f"{host.name} is enrolled as {(lines[1:] or ['?'])[0]!r} ({marker}), not {run.environment!r}")
        run_on_host(append_history(state_dir, history.refused(run, why)))
        yield fail(f"{why}: refused (a host's environment is its enrollment, not the controller's data)")
        return
    if lines[0] == "HELD":
        seen, holder = (lines[1:2] or [""])[0], _holder(lines[2:])
        why = stale_because(holder, now)
        if why and takeover:
            ok, output = run_on_host(takeover_command(state_dir, run, info, seen, holder, once, mark))
            if not ok or not output.stdout_lines:
                yield fail(f"could not take over the {system} lock on {host.name}: {output.stderr.strip()}")
                return
            if output.stdout_lines[0] == "REUSED":
                why = f"approval {run.authorization['approval']} was already used on {host.name}: an approval is used once"
                run_on_host(append_history(state_dir, history.refused(run, why)))
                yield fail(f"{host.name}: refused: {why}")
                return
            if output.stdout_lines[0] != "TAKEN":
                winner = _holder(output.stdout_lines[1:])
                message = (f"{system} on {host.name}: the stale lock was taken over first by "
                           f"{winner.get('operator', '?')} (run {winner.get('run_id', '?')}, pid "
                           f"{winner.get('pid', '?')} on {winner.get('controller', '?')})" if winner else
                           f"{system} on {host.name}: the stale lock changed while taking it over; re-run")
                run_on_host(append_history(state_dir, history.refused(run, message)))
                yield fail(message)
                return
            logger.warning(f"{host.print_prefix}took over the stale {system} lock of "
                           f"{holder.get('operator')} (run {holder.get('run_id')}): {why}")
        else:
            message = (f"{system} on {host.name} is locked by {holder.get('operator', '?')} "
                       f"(run {holder.get('run_id', '?')}, pid {holder.get('pid', '?')} on "
                       f"{holder.get('controller', '?')}) since {holder.get('since', '?')}")
            if why:
                message += f"; the lock is stale ({why}): re-run with --data rollbook_takeover=true to take it over"
            run_on_host(append_history(state_dir, history.refused(run, message)))
            yield fail(message)
            return
    run.lock_held, run.started, run.started_at = True, time.monotonic(), runs.utc_now()
    run.heartbeat = gevent.spawn(_heartbeat, host, run, state_dir, lock_ttl)


def _holder(lines: list[str]) -> dict:
    try:
        holder = json.loads("\n".join(lines))
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def under_guard(state_dir: str, system: str, script: str) -> str:
    """Run ``script`` holding the host-wide guard of ``system``'s lock (acquire, takeover, refresh and
    release never interleave)."""
    return (f"mkdir -p {q(state_dir + '/locks')} && "
            f"flock {q(f'{state_dir}/locks/.{system}.guard')} sh -c {q(script)}")


def takeover_command(state_dir: str, run: runs.HostRun, info: str, seen: str, holder: dict, once: str = "",
                     mark: str = "") -> str:
    """Replace the stale lock whose content hashed to ``seen`` with ``info`` and record the run; a
    compare-and-swap under the guard, so of two controllers taking it over at once exactly one wins
    (``TAKEN``); the other reads ``LOST`` and the lock as it is now. ``once`` and ``mark``: the
    approval's single-use check and record (see ``begun``)."""
    lock = lock_path(state_dir, run.system)
    swap = (f"{once}if [ \"$(sha256sum < {q(lock)} 2>/dev/null | cut -c1-64)\" = {q(seen)} ]; then "
            f"printf '%s\\n' {q(info)} > {q(lock)} && date -u +%Y%m%dT%H%M%S.%6NZ > {q(run.started_marker)} && "
            f"{_record_state(state_dir, run)} && {append_history(state_dir, history.started(run, takeover_of=holder))} "
            f"{'&& ' + mark if mark else ''}&& echo TAKEN; "
            f"else echo LOST; cat {q(lock)} 2>/dev/null; fi")
    return under_guard(state_dir, run.system, swap)


def refresh_command(state_dir: str, run: runs.HostRun, lock_ttl: int) -> str:
    """Push the lock's expiry ``lock_ttl`` seconds ahead, only while this run still holds it."""
    expires = (datetime.now(timezone.utc) + timedelta(seconds=lock_ttl)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lock = lock_path(state_dir, run.system)
    edit = f's/"expires": "[^"]*"/"expires": "{expires}"/'
    script = f"grep -q {q(run.run_id)} {q(lock)} 2>/dev/null && sed -i {q(edit)} {q(lock)}"
    return under_guard(state_dir, run.system, script)


def _heartbeat(target, run: runs.HostRun, state_dir: str, lock_ttl: int):
    """While the run holds its lock, refresh it every third of its time to live, so a long run is
    never taken over as stale (a greenlet: pyinfra's CLI runs on gevent)."""
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


def _unlock(state_dir: str, run: runs.HostRun) -> str:
    lock = lock_path(state_dir, run.system)
    run_marker = q(run.started_marker)
    return (f"rm -f {run_marker} && " +
            under_guard(state_dir, run.system, f"if grep -q {q(run.run_id)} {q(lock)} 2>/dev/null; then rm -f {q(lock)}; fi"))


def finish_command(state_dir: str, run: runs.HostRun, outcome: str, failed_step: str = "") -> str:
    record = history.finished(run, outcome, time.monotonic() - run.started, failed_step)
    return f"{append_history(state_dir, record)} && {_unlock(state_dir, run)}"


def failure_command(state_dir: str, run: runs.HostRun, failed_step: str) -> str:
    """Record a failed step: ``restored`` (and the state before the run recorded again) when the step
    put the previous configuration back (``run.restored_marker``), else ``failed``; then unlock."""
    took = time.monotonic() - run.started
    marker = q(run.restored_marker)
    restored = history.finished(run, "restored", took, failed_step)
    failed = history.finished(run, "failed", took, failed_step)
    return (f"if [ -e {marker} ]; then rm -f {marker} && {_record_state(state_dir, run, back=True)} && "
            f"{append_history(state_dir, restored)}; else {append_history(state_dir, failed)}; fi && "
            f"{_unlock(state_dir, run)}")


@operation()
def finished(system: str, state_dir: str, changed: bool):
    """
    Append the ``finished`` history record (outcome, changes, cleanup, baseline, verification,
    duration) and release this run's lock.

    + system: the system's name
    + state_dir: rollbook's folder on the host
    + changed: whether this run changed the host

    Example:

    .. code:: python

        run_ops.finished(name="Record the run and unlock vision", system="vision",
                         state_dir="/var/lib/rollbook", changed=True)
    """
    if not executing():
        return
    run = runs.current(host.name, system)
    ok, output = run_on_host(finish_command(state_dir, run, "converged" if changed else "no_change"))
    run.finished = True
    if run.heartbeat is not None:
        run.heartbeat.kill(block=False)
    if not ok:
        yield fail(f"could not record the {system} run on {host.name}: {output.stderr.strip()}")
