"""The analyticbot request as data: the flags each scope converges, validation, converge."""

import pytest

from rollbook.core.preflight import PreflightError
from rollbook.systems.analyticbot import request as ab

from ...harness import group_data, validated


def request(target="rolled_back", env="sandbox", **overrides):
    data = {**group_data(env), **overrides}
    return ab.request_from(validated(data), ab.desired_state(validated(data), target, {})[0])


@pytest.mark.parametrize("feature, target, env", [
    ("all", "rolled_back", {ab.MASTER: "false"}),
    ("all", "enabled", {ab.MASTER: "true", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"}),
    ("time_weighting", "rolled_back", {ab.TIME_WEIGHTING: "false"}),
    ("content_type", "enabled", {ab.CONTENT_TYPE: "true"}),
])
def test_each_scope_converges_exactly_its_flags(feature, target, env):
    assert request(target, analyticbot_features=feature).env == env


@pytest.mark.parametrize("overrides, cause", [
    ({"analyticbot_features": "everything"}, "analyticbot_features: Input should be 'all', 'time_weighting' or 'content_type'"),
    ({"analyticbot_migration": "drop"}, "analyticbot_migration: Input should be 'rollback' or 'apply'"),
    ({"analyticbot_release": "v1; rm -rf /"}, "analyticbot_release: 'v1; rm -rf /' is not allowed"),
    ({"analyticbot_unit": "supervisor"}, "analyticbot_unit"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause.replace("(", r"\(")):
        request(**overrides)


def test_converge_uses_the_record_and_ignores_migration_and_release():
    data = {**group_data("sandbox"), "analyticbot_migration": "rollback", "analyticbot_release": "v1"}
    desired, from_record = ab.desired_state(validated(data), None, {"time_weighting": "rolled_back"})
    made = ab.request_from(validated(data), desired, converge=True)
    assert made.env == {ab.MASTER: "true", ab.TIME_WEIGHTING: "false", ab.CONTENT_TYPE: "true"}
    assert (made.migration, made.release, from_record) == (None, None, False)


def test_converge_leaves_a_unit_without_a_record_alone_unless_declared_states_are_allowed():
    prod = group_data("prod")  # rollbook_converge_declared: false
    assert ab.desired_state(validated(prod), None, {"time_weighting": "rolled_back", "zz": "enabled"}) == (
        {"time_weighting": "rolled_back"}, True)
    assert ab.desired_state(validated(prod), None, {}) == ({}, True)  # nothing recorded: left alone
    declared = {**prod, "rollbook_converge_declared": True, "analyticbot_declared_state": {"advanced": "rolled_back"}}
    assert ab.desired_state(validated(declared), None, {"content_type": "enabled"}) == (
        {"advanced": "rolled_back", "time_weighting": "enabled", "content_type": "enabled"}, False)
    made = ab.request_from(validated(prod), {"time_weighting": "rolled_back"}, converge=True)
    assert made.env == {ab.TIME_WEIGHTING: "false"}  # the other flags: as the env file holds them
