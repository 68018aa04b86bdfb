"""Timeouts come from data; a bad value names its key."""

import pytest

from rollbook.host.timeouts import Timeouts, timeouts_of
from rollbook.preflight import PreflightError


def test_timeouts_come_from_data():
    assert timeouts_of({"rollbook_connect_timeout": 3, "rollbook_command_timeout": "60"}) == Timeouts(3, 60)
    with pytest.raises(PreflightError, match="rollbook_command_timeout"):
        timeouts_of({"rollbook_connect_timeout": 3, "rollbook_command_timeout": 0})


def test_the_lock_timeout_has_a_default_and_comes_from_data_when_declared():
    assert timeouts_of({"rollbook_connect_timeout": 3, "rollbook_command_timeout": 60}).lock == 10
    assert timeouts_of({"rollbook_connect_timeout": 3, "rollbook_command_timeout": 60,
                        "rollbook_lock_timeout": "5"}) == Timeouts(3, 60, 5)
    with pytest.raises(PreflightError, match="rollbook_lock_timeout"):
        timeouts_of({"rollbook_connect_timeout": 3, "rollbook_command_timeout": 60, "rollbook_lock_timeout": -1})
