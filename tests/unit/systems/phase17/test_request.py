"""The phase17 request as data: defaults, validation, approval scope, the units a run converges."""

from dataclasses import replace

import pytest

from rollbook.core.preflight import PreflightError
from rollbook.systems.phase17 import request as p17

from ...harness import group_data, validated


def request(target="rolled_back", env="sandbox", **overrides):
    data = {**group_data(env), **overrides}
    desired, _ = p17.desired_state(validated(data), target, {})
    return replace(p17.request_from(validated(data), desired), target=target)


def test_defaults_are_the_router_method_and_the_runbooks_suites():
    made = request()
    assert (made.method, made.target, made.desired, made.flag_value) == ("router", "rolled_back",
                                                                         {"router": "rolled_back"}, None)
    assert request("enabled", phase17_method="flag").desired == {"flag": "enabled"}
    assert request(phase17_method="flag").flag_value == "false"
    assert made.settings.main_path == "/srv/phase17/server/app/main.py"
    assert made.settings.suites == ("app/tests/video", "tests/api")
    assert p17.scope_of(validated(group_data("prod"))) == {"phase17_method": "router"}


@pytest.mark.parametrize("overrides, cause", [
    ({"phase17_method": "revert"}, "phase17_method: Input should be 'router' or 'flag'"),
    ({"phase17_test_suites": ["../../etc"]}, "phase17_test_suites: Value error, '../../etc': not a path relative"),
    ({"phase17_test_suites": []}, "phase17_test_suites: Value error, no suite"),
    ({"phase17_main_file": "/etc/passwd"}, "phase17_main_file"),
    ({"phase17_stream_path": "ws/video/stream"}, "phase17_stream_path: 'ws/video/stream' is not allowed"),
    ({"phase17_leak_cycles": 0}, "phase17_leak_cycles: Input should be greater than 0"),
    ({"phase17_base_url": "https://x"}, "phase17_base_url"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause.replace("(", r"\(").replace(".", r"\.")):
        request(**overrides)


def test_a_rollback_or_enable_converges_the_unit_of_its_method_only():
    data = {**group_data("sandbox"), "phase17_method": "flag"}
    assert p17.desired_state(validated(data), "rolled_back", {"router": "enabled"}) == ({"flag": "rolled_back"}, False)


def test_converge_takes_every_recorded_unit_and_declares_the_rest_only_when_allowed():
    prod, sandbox = group_data("prod"), group_data("sandbox")  # rollbook_converge_declared: false, true
    recorded = {"router": "rolled_back", "websocket": "enabled", "zz": "enabled", "flag": "maybe"}
    assert p17.desired_state(validated(prod), None, recorded) == ({"router": "rolled_back"}, True)
    assert p17.desired_state(validated(prod), None, {}) == ({}, True)  # nothing recorded: left alone
    assert p17.desired_state(validated(sandbox), None, recorded) == ({"router": "rolled_back", "flag": "enabled"}, False)
    both = {"router": "enabled", "flag": "rolled_back"}
    assert p17.desired_state(validated(sandbox), None, both) == (both, True)
    declared = {**sandbox, "phase17_declared_state": {"flag": "rolled_back"}}
    assert p17.desired_state(validated(declared), None, {}) == ({"router": "enabled", "flag": "rolled_back"}, False)
    with pytest.raises(PreflightError, match=r"phase17_declared_state\[router\]: Input should be 'enabled' or 'rolled_back'"):
        p17.desired_state(validated({**sandbox, "phase17_declared_state": {"router": "off"}}), None, {})


def test_the_former_single_unit_is_read_until_a_per_method_unit_is_recorded():
    assert p17.recorded_state({"websocket": "rolled_back"}) == ({}, "rolled_back")
    assert p17.recorded_state({"websocket": "rolled_back", "flag": "enabled"}) == ({"flag": "enabled"}, None)
    assert p17.recorded_state(None) == ({}, None)


def test_describe_names_the_method_or_each_unit_and_whether_the_stream_is_served():
    assert request().describe() == "/ws/video/stream rolled back (router)"
    data = group_data("sandbox")
    made = p17.request_from(validated(data), {"router": "enabled", "flag": "rolled_back"})
    assert made.describe() == "/ws/video/stream not served (router enabled, flag rolled back)"
    assert made.describe({"router": "enabled"}) == "/ws/video/stream served (router enabled)"
