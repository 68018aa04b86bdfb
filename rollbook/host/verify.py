"""Verification: the effect, not the command. Fails the run when a check fails; never a change.

A check is ``(ok, statement)``: ``ok`` True (holds), False (fails) or ``UNPROVEN`` (None: the check
could not tell, e.g. no traffic moved a counter and no probe could be sent). An unproven run is never
restored and never called verified: its outcome is ``unproven``; in prod it fails unless the operator
accepts it (``--data <system>_accept_unproven=true``).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from pyinfra import host, logger
from pyinfra.api import operation

from ..core import runs
from ..core.report import executing
from .shell import fail

UNPROVEN = None  # a check's ``ok`` when it could not tell
LABEL = {True: "verified", False: "FAILED", UNPROVEN: "UNPROVEN"}  # how a check is printed and recorded


@dataclass(frozen=True)
class Decision:
    """A runbook's decision point ("if X, then Y") as its checks meet it: when a check whose statement
    matches ``check`` (a regular expression) fails, the runbook's own ``words`` (where it says them) and
    what rollbook's operator does next follow the statement::

        Decision(r"^best-times answered", "runbook 004, Rollback Decision Matrix",
                 "Response time > 5s | HIGH | Quick rollback (disable all)", "--data analyticbot_features=all")
    """

    check: str
    runbook: str
    words: str
    then: str

    def said(self) -> str:
        return f"{self.runbook}: \"{self.words}\" -> {self.then}"


@dataclass(frozen=True)
class AfterStep:
    """A step of a runbook's post-rollback checklist, as the incident report lists it: ticked when a
    verification check matching ``shown_by`` (a regular expression) passed in the run; None: a person's::

        >>> AfterStep("Health endpoint responding (200 OK)", r"^/health 200").done(["ok: /health 200 healthy"])
        True
    """

    text: str
    shown_by: str | None = None

    def done(self, checks: list[str]) -> bool:
        return self.shown_by is not None and any(
            check.startswith("ok: ") and re.search(self.shown_by, check[4:]) for check in checks)


def decided(checks: list[tuple[bool | None, str]], decisions=()) -> list[tuple[bool | None, str]]:
    """``checks`` with each failed statement followed by the runbook's decisions that apply to it::

        >>> decided([(False, "best-times answered in 6.1s (limit 5s)")],
        ...         [Decision("^best-times", "runbook 004", "Response time > 5s", "roll back all")])[0][1]
        'best-times answered in 6.1s (limit 5s) [runbook 004: "Response time > 5s" -> roll back all]'
    """
    return [(ok, statement + "".join(f" [{decision.said()}]" for decision in decisions
                                     if _state(ok) is False and re.search(decision.check, statement)))
            for ok, statement in checks]


def verdict(checks: list[tuple[bool | None, str]], what: str, system: str, environment: str,
            accept_unproven: bool = False) -> str:
    """Why the run fails on these checks ('' when it does not): a failed check, or an unproven one in prod
    that the operator did not accept::

        >>> verdict([(None, "counter flat: not proven")], "vision rolled back", "vision", "prod")[:52]
        'vision rolled back: unproven: counter flat: not prov'
        >>> verdict([(None, "counter flat: not proven")], "vision rolled back", "vision", "staging")
        ''
    """
    if failed := [statement for ok, statement in checks if _state(ok) is False]:
        return f"{what}: verification failed: " + "; ".join(failed)
    unproven = [statement for ok, statement in checks if ok is UNPROVEN]
    if unproven and environment == "prod" and not accept_unproven:
        return (f"{what}: unproven: {'; '.join(unproven)}. In prod an unproven run fails (nothing is restored): "
                f"check the effect by hand, then re-run with --data {system}_accept_unproven=true to accept it")
    return ""


def _state(ok) -> bool | None:
    """A check's ``ok`` as True, False or ``UNPROVEN`` (a judge's ``0`` or ``""`` is a failure)."""
    return UNPROVEN if ok is UNPROVEN else bool(ok)


def record(run: runs.HostRun | None, checks: list[tuple[bool | None, str]]):
    """Add ``checks`` to the run's history; a run may verify twice (its effect, then a cleanup): it is
    verified only when no check of either failed or was unproven."""
    if not run:
        return
    run.verify += [f"{'ok' if ok else LABEL[_state(ok)]}: {text}" for ok, text in checks]
    run.unproven += [text for ok, text in checks if ok is UNPROVEN]
    if any(_state(ok) is False for ok, _ in checks):
        run.verified = False
    elif run.verified is not False:
        run.verified = None if run.unproven else True


@operation()
def verified(what: str, fact, fact_kwargs: dict, judge: Callable, system: str = "", before: Callable | None = None,
             accept_unproven: bool = False, decisions=()):
    """At execute time, call ``before`` (to upload a secret the observation needs), read ``fact`` and fail
    unless every check of ``judge`` (observation -> ``[(ok, statement)]``, each printed, recorded in the
    history of ``system``'s run) holds (``verdict``); a failed one says the runbook's ``decisions`` that
    apply (``decided``). No command when they hold (in ``--dry``, nothing is observed). Example::

        verify.verified(name="Verify: vision rolled back", what="vision rolled back",
                        fact=VisionEffect, fact_kwargs={...}, judge=lambda seen: [(seen.health == 200, "health 200")])
    """
    if not executing():
        return
    if before:
        before()
    checks = decided(judge(host.get_fact(fact, **fact_kwargs)), decisions)
    for ok, statement in checks:
        logger.info(f"{host.print_prefix}{LABEL[_state(ok)]}: {statement}")
    run = runs.current(host.name, system)
    record(run, checks)
    if run and run.unproven and run.verified is None:
        logger.warning(f"{host.print_prefix}{what}: UNPROVEN, not verified: nothing here shows the effect")
    if why := verdict(checks, what, system, run.environment if run else "", accept_unproven):
        if run and run.verified is None:  # failed for being unproven: its history says so
            run.outcome = "unproven"
        yield fail(why)
