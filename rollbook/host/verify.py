"""Verification: the effect, not the command. Fails the run when a check fails; never a change."""

from collections.abc import Callable

from pyinfra import host, logger
from pyinfra.api import operation

from ..core import runs
from ..core.report import executing
from .shell import fail


@operation()
def verified(what: str, fact, fact_kwargs: dict, judge: Callable, system: str = "", before: Callable | None = None):
    """At execute time, call ``before`` (to upload a secret the observation needs), read ``fact`` and fail
    unless every check of ``judge`` (observation -> ``[(ok, statement)]``, each printed, recorded in the
    history of ``system``'s run) holds; no command when they do (in ``--dry``, nothing is observed). Example::

        verify.verified(name="Verify: vision rolled back", what="vision rolled back",
                        fact=VisionEffect, fact_kwargs={...}, judge=lambda seen: [(seen.health == 200, "health 200")])
    """
    if not executing():
        return
    if before:
        before()
    checks = judge(host.get_fact(fact, **fact_kwargs))
    for ok, statement in checks:
        logger.info(f"{host.print_prefix}{'verified' if ok else 'FAILED'}: {statement}")
    failed = [statement for ok, statement in checks if not ok]
    run = runs.current(host.name, system)
    if run:  # a run may verify twice (its effect, then a cleanup): the history holds every check
        run.verify += [("ok: " if ok else "FAILED: ") + text for ok, text in checks]
        run.verified = run.verified is not False and not failed
    if failed:
        yield fail(f"{what}: verification failed: " + "; ".join(failed))
