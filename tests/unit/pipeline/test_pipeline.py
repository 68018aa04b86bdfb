"""The fail percentage comes from the settings; a bad value names its key."""

import pytest

from rollbook.core.loader import HostSettings
from rollbook.core.preflight import PreflightError


@pytest.mark.parametrize("value, expected", [(None, None), ("None", None), (0, 0), ("40", 40), (100, 100)])
def test_fail_percent_is_none_or_a_percentage(value, expected):
    assert HostSettings.validated({"rollbook_fail_percent": value}).rollbook_fail_percent == expected


@pytest.mark.parametrize("value", [101, -1, "half", True])
def test_a_bad_fail_percent_names_the_key(value):
    with pytest.raises(PreflightError, match="rollbook_fail_percent"):
        HostSettings.validated({"rollbook_fail_percent": value})
