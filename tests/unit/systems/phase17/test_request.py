"""The phase17 request as data: defaults, validation, approval scope."""

import pytest

from rollbook.preflight import PreflightError
from rollbook.systems.phase17 import request as p17

from ...harness import group_data


def request(target="rolled_back", env="sandbox", **overrides):
    return p17.request_from({**group_data(env), **overrides}, target)


def test_defaults_are_the_router_method_and_the_runbooks_suites():
    made = request()
    assert (made.method, made.target, made.flag_value) == ("router", "rolled_back", "false")
    assert made.settings.main_path == "/srv/phase17/server/app/main.py"
    assert made.settings.suites == ("app/tests/video", "tests/api")
    assert p17.scope_of(group_data("prod")) == {"phase17_method": "router"}


@pytest.mark.parametrize("overrides, cause", [
    ({"phase17_method": "revert"}, "phase17_method: 'revert' is not one of router, flag"),
    ({"phase17_test_suites": ["../../etc"]}, "phase17_test_suites: '../../etc' is not a path relative"),
    ({"phase17_test_suites": []}, "phase17_test_suites is empty"),
    ({"phase17_main_file": "/etc/passwd"}, "phase17_main_file"),
    ({"phase17_stream_path": "ws/video/stream"}, "phase17_stream_path: 'ws/video/stream' is not an absolute URL path"),
    ({"phase17_leak_cycles": 0}, "phase17_leak_cycles: 0 is not a positive whole number"),
    ({"phase17_base_url": "https://x"}, "phase17_base_url"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause.replace("(", r"\(").replace(".", r"\.")):
        request(**overrides)
