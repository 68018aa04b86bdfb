"""Verification's verdict: a failed check fails the run; an unproven one (a check that could not tell)
fails it only in prod, unless accepted; the history says which."""

import pytest

from rollbook.core.runs import HostRun
from rollbook.host.verify import UNPROVEN, record, verdict
from rollbook.pipeline.record import failed_outcome

PASSED, FAILED, QUIET = (True, "worker /metrics answers 200"), (False, "env differs"), (UNPROVEN, "counter flat: not proven")


@pytest.mark.parametrize("checks, environment, accept, fails", [
    ([PASSED], "prod", False, ""),
    ([PASSED, FAILED], "staging", False, "vision rolled back: verification failed: env differs"),
    ([QUIET, FAILED], "prod", True, "vision rolled back: verification failed: env differs"),
    ([PASSED, QUIET], "staging", False, ""),
    ([PASSED, QUIET], "prod", True, ""),
    ([PASSED, QUIET], "prod", False, "vision rolled back: unproven: counter flat: not proven. In prod an unproven "
     "run fails (nothing is restored): check the effect by hand, then re-run with --data "
     "vision_accept_unproven=true to accept it"),
])
def test_an_unproven_check_fails_only_in_prod_and_only_unless_accepted(checks, environment, accept, fails):
    assert verdict(checks, "vision rolled back", "vision", environment, accept) == fails


def a_run() -> HostRun:
    return HostRun("vision", "rollback", "deploys/vision_rollback.py", "prod")


def test_a_run_is_verified_only_when_no_check_of_any_verification_failed_or_was_unproven():
    run = a_run()
    record(run, [PASSED])
    assert run.verified is True and run.verify == ["ok: worker /metrics answers 200"]
    record(run, [QUIET])  # a second verification (a cleanup's) could not tell
    assert run.verified is None and run.unproven == ["counter flat: not proven"]
    assert run.verify[-1] == "UNPROVEN: counter flat: not proven"
    record(run, [PASSED])
    assert run.verified is None, "a later pass does not prove what could not be told"
    record(run, [FAILED])
    assert run.verified is False and run.verify[-1] == "FAILED: env differs"


def test_a_failed_step_is_recorded_unproven_only_when_an_unproven_verification_failed_it():
    run = a_run()
    assert failed_outcome(run) == "failed"
    record(run, [QUIET])
    assert failed_outcome(run) == "failed", "unproven and accepted (or staging): a later failed step is a failure"
    run.outcome = "unproven"  # what verify.verified sets when it fails the run for being unproven
    assert failed_outcome(run) == "unproven"
