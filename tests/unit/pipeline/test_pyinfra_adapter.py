"""The run's end as pyinfra signals it: its notice goes out once every host it connected to is
disconnected; a failed step keeps the outcome the host recorded (``restored`` or ``failed``)."""

from dataclasses import dataclass
from types import SimpleNamespace

from rollbook.core import runs
from rollbook.core.loader import HostSettings
from rollbook.pipeline import pyinfra_adapter
from rollbook.pipeline import record as run_ops


@dataclass(frozen=True)
class Host:
    name: str


def _session(url: str | None, *names: str) -> runs.Session:
    session = runs.Session()
    for name in names:
        run = runs.HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py",
                           environment="sandbox", run_id="r1", lock_held=True)
        session.register(name, run)
        session.settings[name] = HostSettings.validated({"rollbook_notify_webhook": url})
    return session


def test_the_notice_goes_out_when_the_last_host_is_disconnected(endpoint):
    url, received = endpoint
    session = _session(url, "vision-1", "vision-2")
    session.current("vision-1", "vision").outcome = "restored"
    first, last = Host("vision-1"), Host("vision-2")
    state = SimpleNamespace(activated_hosts={first, last}, is_executing=True)
    callbacks = pyinfra_adapter._Callbacks(session)
    callbacks.host_disconnect(state, first)
    assert received == []  # the run is not over: a host is still connected
    callbacks.host_disconnect(state, last)
    assert len(received) == 1 and "restored on vision-1" in received[0][1]["text"]


def test_a_run_that_never_executed_sends_nothing(endpoint):
    url, received = endpoint
    session = _session(url, "vision-1")
    session.current("vision-1", "vision").outcome = "refused"
    target = Host("vision-1")
    pyinfra_adapter._Callbacks(session).host_disconnect(SimpleNamespace(activated_hosts={target},
                                                                        is_executing=False), target)
    assert received == []


def test_a_failed_step_keeps_the_outcome_the_host_recorded(monkeypatch):
    session = _session(None, "vision-1", "vision-2")
    answers = {"vision-1": ["RESTORED"], "vision-2": ["FAILED"]}
    monkeypatch.setattr(run_ops, "run_on_host", lambda command, on: (True, SimpleNamespace(
        stdout_lines=answers[on.name])))
    for name in answers:
        pyinfra_adapter._close_open_runs(session, Host(name), lambda held: "fail", "failed",
                                         "vision | Recreate the worker")
    assert [(run.outcome, run.failed_step, run.finished) for run in session.runs.values()] == [
        ("restored", "vision | Recreate the worker", True), ("failed", "vision | Recreate the worker", True)]
