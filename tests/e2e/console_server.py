"""The sandbox's console as a team runs it: ``deploys/console.py`` on control-1 (after
``deploys/drift_timer.py``), a systemd unit listening on 127.0.0.1:8480; its users from
``.sandbox/console-users``::

    console = installed()
    console.api("operator").post("/api/plans", json={...})
"""

import time
from dataclasses import dataclass

import httpx


@dataclass
class Served:
    url: str
    users: dict[str, tuple[str, str]]  # name -> (role, password)
    since: float  # when these tests began (its history may hold older runs)

    def api(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(name, self.users[name][1]), timeout=300)


def installed() -> Served:
    """The console installed (twice: the second run changes nothing) and answering."""
    from rollbook.sandbox.console import install_on_control, users

    since = time.time()
    url = install_on_control(log=print).rstrip("/")
    install_on_control(log=print, unchanged=True)
    assert httpx.get(url + "/login", timeout=10).status_code == 200  # the unit is active only once it answers
    return Served(url, users(), since)
