"""How long a remote step may take before it fails naming itself (``rollbook_*_timeout`` in data).

Example::

    limits = timeouts_of(host.data)
    limits.connect    # seconds Redis or PostgreSQL has to answer a PING / SELECT 1
    limits.command    # seconds one SQL script, Redis cleanup or database read may run
    limits.lock       # seconds one SQL statement may wait for a lock (PostgreSQL lock_timeout)
"""

from dataclasses import dataclass

from ..preflight import positive_int, require

LOCK_TIMEOUT = 10  # rollbook_lock_timeout's default


@dataclass(frozen=True)
class Timeouts:
    connect: int
    command: int
    lock: int = LOCK_TIMEOUT


def timeouts_of(data) -> Timeouts:
    """The timeouts of a host's data; PreflightError names a bad key."""
    lock = data.get("rollbook_lock_timeout")
    return Timeouts(connect=positive_int(require(data, "rollbook_connect_timeout"), "rollbook_connect_timeout"),
                    command=positive_int(require(data, "rollbook_command_timeout"), "rollbook_command_timeout"),
                    lock=LOCK_TIMEOUT if lock is None else positive_int(lock, "rollbook_lock_timeout"))
