"""The fail percentage comes from data; a bad value names its key."""

import pytest

from rollbook.pipeline import fail_percent
from rollbook.preflight import PreflightError


@pytest.mark.parametrize("value, expected", [(None, None), ("None", None), (0, 0), ("40", 40), (100, 100)])
def test_fail_percent_is_none_or_a_percentage(value, expected):
    assert fail_percent({"rollbook_fail_percent": value}) == expected


@pytest.mark.parametrize("value", [101, -1, "half", True])
def test_a_bad_fail_percent_names_the_key(value):
    with pytest.raises(PreflightError, match="rollbook_fail_percent"):
        fail_percent({"rollbook_fail_percent": value})
