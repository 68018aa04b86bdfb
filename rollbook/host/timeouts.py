"""How long a remote step may take before it fails naming itself (``rollbook_*_timeout`` in data)::

    limits = timeouts_of(settings)   # a host's settings (rollbook.core.loader)
    limits.connect    # seconds Redis or PostgreSQL has to answer a PING / SELECT 1
    limits.command    # seconds one SQL script, Redis cleanup or database read may run
    limits.lock       # seconds one SQL statement may wait for a lock (PostgreSQL lock_timeout)
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    connect: int
    command: int
    lock: int = 10  # rollbook_lock_timeout's default


def timeouts_of(settings) -> Timeouts:
    """The timeouts of a host's settings (validated: each a whole number above 0)."""
    return Timeouts(connect=settings.rollbook_connect_timeout, command=settings.rollbook_command_timeout,
                    lock=settings.rollbook_lock_timeout)
