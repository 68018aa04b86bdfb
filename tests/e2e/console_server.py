"""The sandbox's console, served for the tests as an operator starts it (``rollbook serve``), on a free
127.0.0.1 port; its users from ``.sandbox/console-users``::

    with served() as console:
        console.api("operator").post("/api/plans", json={...})
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from .pyinfra_run import REPO

START_SECONDS = 30


@dataclass
class Served:
    url: str
    users: dict[str, tuple[str, str]]  # name -> (role, password)
    since: float  # when this console started (its history may hold older runs)

    def api(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(name, self.users[name][1]), timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served():
    from rollbook.sandbox.console import config_path, ensure_console, users

    ensure_console()
    port, since = _free_port(), time.time()
    log = open(REPO / ".sandbox" / "console-test.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "rollbook", "serve", "--config", str(config_path()),
                                "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while True:  # until it answers, or it ended, or the deadline
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"rollbook serve ended with {process.returncode} (.sandbox/console-test.log)"
        assert time.monotonic() < deadline, "rollbook serve did not answer in time"
        time.sleep(0.2)
    try:
        yield Served(url, users(), since)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
