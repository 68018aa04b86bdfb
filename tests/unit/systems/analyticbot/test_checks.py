"""The analyticbot checks as data: the log line and the runbook's validation."""

import json

from rollbook.systems.analyticbot import checks
from rollbook.systems.analyticbot import request as ab
from rollbook.systems.analyticbot.facts import AnalyticbotObservation

from .test_request import request


def test_the_log_line_shows_effective_values_under_the_master_flag():
    assert checks.flags_line({ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}) == \
        "Feature flags - Advanced: False, Time-weighting: False, Content-type: False"
    assert checks.flags_line({ab.MASTER: "true", ab.TIME_WEIGHTING: "false", ab.CONTENT_TYPE: "true"}) == \
        "Feature flags - Advanced: True, Time-weighting: False, Content-type: True"


def seen(env, flags_line, errors=(), body=None, seconds=0.1, health="healthy"):
    return AnalyticbotObservation(
        running=env, health_code=200, health=json.dumps({"status": health}),
        log_tail=[f"2026-11-23 10:00:00 [INFO] {flags_line}", *errors], best_times_code=200,
        best_times_seconds=seconds, best_times=json.dumps({"data": body or {"total_posts_analyzed": 629}}))


def test_judge_accepts_a_full_rollback_and_names_every_failure():
    expected = {ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}
    check = checks.judge(request(), expected)
    good = seen(dict(expected), checks.flags_line(expected))
    assert all(ok for ok, _ in check(good)), check(good)

    stale = {**expected, ab.MASTER: "true"}
    bad = seen(stale, checks.flags_line(stale), errors=["2026 [ERROR] boom"],
               body={"best_day_hour_combinations": []}, seconds=2.5)
    failed = [text for ok, text in check(bad) if not ok]
    assert any("process environment differs" in t for t in failed)
    assert any("want 'Feature flags - Advanced: False" in t for t in failed)
    assert any("ERROR" in t for t in failed) and any("limit 2s" in t for t in failed)
    assert any("best_day_hour_combinations present (want absent)" in t for t in failed)


def test_after_a_release_change_health_must_report_the_checkout_s_version():
    from dataclasses import replace

    expected = {ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}
    check = checks.judge(request(analyticbot_release="v7.4.0"), expected)
    good = seen(dict(expected), checks.flags_line(expected))
    rebuilt = replace(good, health=json.dumps({"status": "healthy", "version": "7.4.0"}), checkout_version="7.4.0")
    assert [text for ok, text in check(rebuilt) if "release" in text] == [
        "running release 7.4.0 (the checkout of v7.4.0: VERSION 7.4.0)"]
    assert all(ok for ok, _ in check(rebuilt))
    stale = replace(rebuilt, health=json.dumps({"status": "healthy", "version": "7.5.0"}))  # recreated, not rebuilt
    assert [text for ok, text in check(stale) if not ok] == [
        "running release 7.5.0 (the checkout of v7.4.0: VERSION 7.4.0)"]
    assert not any("release" in text for _, text in checks.judge(request(), expected)(good))  # no release asked


def test_each_failure_carries_the_runbook_s_issue_or_decision_that_applies():
    """Runbook 004's troubleshooting issues and decision matrix, in its words, after the failed checks they
    apply to; every decision of the table meets a failure of the judge."""
    from rollbook.host.verify import decided

    expected = {ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}
    stale = {**expected, ab.MASTER: "true"}
    bad = seen(stale, checks.flags_line(stale), errors=["2026 [ERROR] boom"],
               body={"best_day_hour_combinations": []}, seconds=2.5)
    said = {text: statement for ok, statement in decided(checks.judge(request(), expected)(bad), checks.DECISIONS)
            if not ok for text in [statement.split(" [", 1)[0]]}
    assert [decision for decision in checks.DECISIONS
            if not any(decision.said() in statement for statement in said.values())] == []
    slow = [statement for text, statement in said.items() if text.startswith("best-times answered")]
    assert slow == [f"{slow[0].split(' [')[0]} [runbook 004, Rollback Decision Matrix: \"Response time > 5s | HIGH | "
                    "Quick rollback (disable all)\" -> --data analyticbot_features=all (deploys/analyticbot_rollback.py)]"]
    assert all(" [" not in statement for ok, statement in checks.judge(request(), expected)(bad) if ok)
