"""The analyticbot system's decisions as data: scopes, migration SQL, and the runbook's validation."""

import json

import pytest

from rollbook.facts.analyticbot import AnalyticbotObservation
from rollbook.preflight import PreflightError
from rollbook.systems import analyticbot as ab

from ..harness import group_data


def request(target="rolled_back", env="sandbox", **overrides):
    data = {**group_data(env), **overrides}
    return ab.request_from(data, ab.desired_state(data, target, {})[0])


@pytest.mark.parametrize("feature, target, env", [
    ("all", "rolled_back", {ab.MASTER: "false"}),
    ("all", "enabled", {ab.MASTER: "true", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}),
    ("time_weighting", "rolled_back", {ab.TIME_WEIGHTING: "false"}),
    ("content_type", "enabled", {ab.CONTENT_TYPE: "true"}),
])
def test_each_scope_converges_exactly_its_flags(feature, target, env):
    assert request(target, analyticbot_features=feature).env == env


@pytest.mark.parametrize("overrides, cause", [
    ({"analyticbot_features": "everything"}, "analyticbot_features: 'everything' is not one of"),
    ({"analyticbot_migration": "drop"}, "analyticbot_migration: 'drop' is not one of rollback, apply"),
    ({"analyticbot_release": "v1; rm -rf /"}, "is not a git ref name"),
    ({"analyticbot_unit": "supervisor"}, "analyticbot_unit"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause.replace("(", r"\(")):
        request(**overrides)


def test_converge_uses_the_record_and_ignores_migration_and_release():
    data = {**group_data("sandbox"), "analyticbot_migration": "rollback", "analyticbot_release": "v1"}
    desired, from_record = ab.desired_state(data, None, {"time_weighting": "rolled_back"})
    made = ab.request_from(data, desired, converge=True)
    assert made.env == {ab.MASTER: "true", ab.TIME_WEIGHTING: "false", ab.CONTENT_TYPE: "true"}
    assert (made.migration, made.release, from_record) == (None, None, False)


def test_the_log_line_shows_effective_values_under_the_master_flag():
    assert ab.flags_line({ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}) == \
        "Feature flags - Advanced: False, Time-weighting: False, Content-type: False"
    assert ab.flags_line({ab.MASTER: "true", ab.TIME_WEIGHTING: "false", ab.CONTENT_TYPE: "true"}) == \
        "Feature flags - Advanced: True, Time-weighting: False, Content-type: True"


def test_migration_sql_saves_before_dropping_and_restores_from_the_backup():
    rollback = ab.rollback_sql("posts_content_type_backup_x")
    assert rollback.index("CREATE TABLE posts_content_type_backup_x AS SELECT id, has_video, has_media") < \
        rollback.index("DROP COLUMN IF EXISTS has_video")
    apply = ab.apply_sql("posts_content_type_backup_x")
    assert "ADD COLUMN IF NOT EXISTS has_media" in apply and "FROM posts_content_type_backup_x AS b" in apply
    assert "UPDATE" not in ab.apply_sql("")


def seen(env, flags_line, errors=(), body=None, seconds=0.1, health="healthy"):
    return AnalyticbotObservation(
        running=env, health_code=200, health=json.dumps({"status": health}),
        log_tail=[f"2026-11-23 10:00:00 [INFO] {flags_line}", *errors], best_times_code=200,
        best_times_seconds=seconds, best_times=json.dumps({"data": body or {"total_posts_analyzed": 629}}))


def test_judge_accepts_a_full_rollback_and_names_every_failure():
    expected = {ab.MASTER: "false", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}
    check = ab.judge(request(), expected)
    good = seen(dict(expected), ab.flags_line(expected))
    assert all(ok for ok, _ in check(good)), check(good)

    stale = {**expected, ab.MASTER: "true"}
    bad = seen(stale, ab.flags_line(stale), errors=["2026 [ERROR] boom"],
               body={"best_day_hour_combinations": []}, seconds=2.5)
    failed = [text for ok, text in check(bad) if not ok]
    assert any("process environment differs" in t for t in failed)
    assert any("want 'Feature flags - Advanced: False" in t for t in failed)
    assert any("ERROR" in t for t in failed) and any("limit 2s" in t for t in failed)
    assert any("best_day_hour_combinations present (want absent)" in t for t in failed)
