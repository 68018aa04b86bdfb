"""E2E layer: converge real sandbox hosts, then check them independently of rollbook's code.

The sandbox is started once per test session (``rollbook.sandbox.hosts.up``: images
are reused when their recipe hash is unchanged) and kept running afterwards, so a
developer can look at it; ``make sandbox-down`` removes it.
"""

import pytest

from rollbook.sandbox import hosts

from .probes import Probes


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sandbox():
    """The running sandbox's state (hosts, published ports, S3 endpoint)."""
    return hosts.up(log=print)


@pytest.fixture(scope="session")
def probes(sandbox):
    return Probes(sandbox)
