"""How long a remote step may take before it fails naming itself (``rollbook_*_timeout`` in data).

Example::

    limits = timeouts_of(host.data)
    limits.connect    # seconds Redis or PostgreSQL has to answer a PING / SELECT 1
    limits.command    # seconds one SQL script, Redis cleanup or database read may run
"""

from dataclasses import dataclass

from ..preflight import positive_int, require


@dataclass(frozen=True)
class Timeouts:
    connect: int
    command: int


def timeouts_of(data) -> Timeouts:
    """The timeouts of a host's data; PreflightError names a bad key."""
    return Timeouts(connect=positive_int(require(data, "rollbook_connect_timeout"), "rollbook_connect_timeout"),
                    command=positive_int(require(data, "rollbook_command_timeout"), "rollbook_command_timeout"))
