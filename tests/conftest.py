"""E2E layer (``tests/e2e/`` and every ``test_e2e_*.py``, e.g. in ``tests/security/``): converge
real sandbox hosts, then check them independently of rollbook's code.

The sandbox is started once per test session (``rollbook.sandbox.hosts.up``: images
are reused when their recipe hash is unchanged) and kept running afterwards, so a
developer can look at it; ``make sandbox-down`` removes it. ``ROLLBOOK_E2E_HOSTS=phase17-1,control-1``
brings up only those default hosts (working on one system's scenarios; the others then fail).
"""

import os
from pathlib import Path

import pytest

from rollbook.sandbox import hosts
from rollbook.sandbox.roles import DEFAULT_HOSTS

from .e2e.probes import Probes


def pytest_collection_modifyitems(items):
    for item in items:
        path = str(item.fspath)
        if "/tests/e2e/" in path or Path(path).name.startswith("test_e2e_"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sandbox():
    """The running sandbox's state (hosts, published ports, S3 endpoint)."""
    names = [name for name in os.environ.get("ROLLBOOK_E2E_HOSTS", "").split(",") if name]
    unknown = sorted(set(names) - set(DEFAULT_HOSTS))
    if unknown:
        raise pytest.UsageError(f"ROLLBOOK_E2E_HOSTS: unknown host(s) {', '.join(unknown)}")
    return hosts.up({name: DEFAULT_HOSTS[name] for name in names} or None, log=print)


@pytest.fixture(scope="session")
def probes(sandbox):
    return Probes(sandbox)
