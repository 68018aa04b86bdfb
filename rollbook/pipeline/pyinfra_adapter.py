"""Where rollbook hooks into pyinfra beyond its operations and facts: a failed step is recorded and its lock
released, when too many hosts failed (``state.should_raise_failed_hosts``, wrapped) every open run is
recorded ``aborted`` and unlocked, and once the run is over its notice goes out (``run_notice.at_end``)::

    pyinfra_adapter.attach(state, SESSION)    # once per pyinfra process

The run is over when pyinfra has disconnected from every host it connected to (its ``host_disconnect``
callback, which its CLI triggers in a ``finally`` after the results, whether the run succeeded, lost
hosts or stopped on ``--fail-percent``); an exit that skips the disconnection is caught at exit.
"""

import atexit

from pyinfra import logger
from pyinfra.api import BaseStateCallback

from ..core import run_notice
from ..host.service import LOG_LINES
from . import record as run_ops


def _close_open_runs(session, target, command, outcome: str, step: str = ""):
    """Record the end (``command(run)``) of each run still holding its lock on ``target``; never raise.
    The run's ``outcome`` (``restored`` when the host script answers so) and failed ``step`` are kept."""
    for held in session.of_host(target.name):
        if not held.lock_held or held.finished:
            continue
        held.finished, held.failed_step = True, step
        held.outcome = run_ops.failed_outcome(held) if outcome == "failed" else outcome
        try:
            ok, output = run_ops.run_on_host(command(held), on=target)
        except Exception as error:  # the connector's own errors (paramiko, socket) when the host is lost
            logger.error(f"{target.print_prefix}unreachable ({type(error).__name__}: {error}): the {outcome} "
                         f"{held.system} run stays unrecorded and its lock stays held; once the host is back, "
                         "re-run with --data rollbook_takeover=true")
            continue
        if not ok:
            logger.error(f"{target.print_prefix}could not record the {outcome} {held.system} run")
        elif output.stdout_lines[:1] == ["RESTORED"]:
            held.outcome = "restored"


def _diagnostics(session, target, held) -> list[str]:
    """The service's recent log lines (masked on the host, then every secret this run knows masked
    again); a line saying why when they cannot be read. Never raises."""
    try:
        ok, output = run_ops.run_on_host(held.logs_command, on=target)
    except Exception as error:  # the host lost: the failure's own record says so
        return [f"(the service's log could not be read: {type(error).__name__})"]
    lines = output.stdout_lines[-LOG_LINES:] if ok else ["(the service's log could not be read)"]  # its stderr: unmasked
    secrets = run_notice.secret_values(session)
    return [run_notice.scrubbed(line, secrets) for line in lines]


class _Callbacks(BaseStateCallback):
    """pyinfra's callbacks, on the runs of one session (``rollbook.core.runs.Session``)."""

    def __init__(self, session):
        self.session = session
        self.disconnected: set[str] = set()

    def operation_start(self, state, op_hash):
        """Apply ``rollbook_fail_percent`` unless the command line (or a prompt) set the threshold."""
        value = self.session.fail_percent
        if state.config.FAIL_PERCENT is None and value not in (None, "unset"):
            state.config.FAIL_PERCENT = value

    def operation_host_error(self, state, host, op_hash, retry_count=0, max_retries=0):
        """A failed step: the service's recent log lines read, then the step recorded in history with them
        and the lock released, so nothing is left held."""
        step = ", ".join(sorted(state.op_meta[op_hash].names))
        for held in self.session.of_host(host.name):
            if held.lock_held and not held.finished and held.logs_command and not held.diagnostics:
                held.diagnostics = _diagnostics(self.session, host, held)
        _close_open_runs(self.session, host, lambda held: run_ops.failure_command(held.state_dir, held, step),
                         "failed", step)

    def host_disconnect(self, state, host):
        """Once every host the run connected to is disconnected, the run is over: its notice."""
        self.disconnected.add(host.name)
        if {target.name for target in state.activated_hosts} <= self.disconnected:
            run_notice.at_end(self.session, executed=bool(state.is_executing))


def attach(state, session):
    """Add the callbacks and wrap the failed-hosts decision (see the module's doc)."""
    state.add_callback_handler(_Callbacks(session))
    previous = state.should_raise_failed_hosts  # pyinfra's "continue?" prompt, when interactive

    def should_raise_failed_hosts(current) -> bool:
        if previous and previous(current) is False:
            return False
        why = f"over {current.config.FAIL_PERCENT}% of hosts failed"
        for target in list(current.active_hosts):
            _close_open_runs(session, target, lambda held: run_ops.finish_command(held.state_dir, held, "aborted", why),
                             "aborted", why)
        return True

    state.should_raise_failed_hosts = should_raise_failed_hosts
    atexit.register(lambda: run_notice.at_end(session, executed=bool(state.is_executing)))  # sent once
