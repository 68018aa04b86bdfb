"""Timeouts come from the settings; a bad value names its key."""

import pytest

from rollbook.core.loader import HostSettings
from rollbook.host.timeouts import Timeouts, timeouts_of
from rollbook.core.preflight import PreflightError


def settings(**data):
    return HostSettings.validated(data)


def test_timeouts_come_from_the_settings():
    assert timeouts_of(settings(rollbook_connect_timeout=3, rollbook_command_timeout="60")) == Timeouts(3, 60)
    with pytest.raises(PreflightError, match="rollbook_command_timeout"):
        settings(rollbook_connect_timeout=3, rollbook_command_timeout=0)


def test_the_lock_timeout_has_a_default_and_comes_from_the_settings():
    assert timeouts_of(settings(rollbook_connect_timeout=3, rollbook_command_timeout=60)).lock == 10
    assert timeouts_of(settings(rollbook_connect_timeout=3, rollbook_command_timeout=60,
                                rollbook_lock_timeout="5")) == Timeouts(3, 60, 5)
    with pytest.raises(PreflightError, match="rollbook_lock_timeout"):
        settings(rollbook_lock_timeout=-1)
