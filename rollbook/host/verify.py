"""Verification: the effect, not the command. Fails the run when a check fails; never a change.

A check is ``(ok, statement)``: ``ok`` True (holds), False (fails) or ``UNPROVEN`` (None: the check
could not tell, e.g. no traffic moved a counter and no probe could be sent). An unproven run is never
restored and never called verified: its outcome is ``unproven``; in prod it fails unless the operator
accepts it (``--data <system>_accept_unproven=true``).
"""

from collections.abc import Callable

from pyinfra import host, logger
from pyinfra.api import operation

from ..core import runs
from ..core.report import executing
from .shell import fail

UNPROVEN = None  # a check's ``ok`` when it could not tell
LABEL = {True: "verified", False: "FAILED", UNPROVEN: "UNPROVEN"}  # how a check is printed and recorded


def verdict(checks: list[tuple[bool | None, str]], what: str, system: str, environment: str,
            accept_unproven: bool = False) -> str:
    """Why the run fails on these checks ('' when it does not): a failed check, or an unproven one in prod
    that the operator did not accept::

        >>> verdict([(None, "counter flat: not proven")], "vision rolled back", "vision", "prod")[:52]
        'vision rolled back: unproven: counter flat: not prov'
        >>> verdict([(None, "counter flat: not proven")], "vision rolled back", "vision", "staging")
        ''
    """
    if failed := [statement for ok, statement in checks if ok is False]:
        return f"{what}: verification failed: " + "; ".join(failed)
    unproven = [statement for ok, statement in checks if ok is UNPROVEN]
    if unproven and environment == "prod" and not accept_unproven:
        return (f"{what}: unproven: {'; '.join(unproven)}. In prod an unproven run fails (nothing is restored): "
                f"check the effect by hand, then re-run with --data {system}_accept_unproven=true to accept it")
    return ""


def record(run: runs.HostRun | None, checks: list[tuple[bool | None, str]]):
    """Add ``checks`` to the run's history; a run may verify twice (its effect, then a cleanup): it is
    verified only when no check of either failed or was unproven."""
    if not run:
        return
    run.verify += [f"{'ok' if ok else LABEL[ok]}: {text}" for ok, text in checks]
    run.unproven += [text for ok, text in checks if ok is UNPROVEN]
    if any(ok is False for ok, _ in checks):
        run.verified = False
    elif run.verified is not False:
        run.verified = None if run.unproven else True


@operation()
def verified(what: str, fact, fact_kwargs: dict, judge: Callable, system: str = "", before: Callable | None = None,
             accept_unproven: bool = False):
    """At execute time, call ``before`` (to upload a secret the observation needs), read ``fact`` and fail
    unless every check of ``judge`` (observation -> ``[(ok, statement)]``, each printed, recorded in the
    history of ``system``'s run) holds (``verdict``); no command when they do (in ``--dry``, nothing is
    observed). Example::

        verify.verified(name="Verify: vision rolled back", what="vision rolled back",
                        fact=VisionEffect, fact_kwargs={...}, judge=lambda seen: [(seen.health == 200, "health 200")])
    """
    if not executing():
        return
    if before:
        before()
    checks = judge(host.get_fact(fact, **fact_kwargs))
    for ok, statement in checks:
        logger.info(f"{host.print_prefix}{LABEL[ok]}: {statement}")
    run = runs.current(host.name, system)
    record(run, checks)
    if run and run.unproven and run.verified is None:
        logger.warning(f"{host.print_prefix}{what}: UNPROVEN, not verified: nothing here shows the effect")
    if why := verdict(checks, what, system, run.environment if run else "", accept_unproven):
        if run and run.verified is None:  # failed for being unproven: its history says so
            run.outcome = "unproven"
        yield fail(why)
