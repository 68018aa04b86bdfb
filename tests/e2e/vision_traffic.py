"""The vision stand-in's background traffic, switched off for a quiet night and back on::

    with quiet_night(probes, "vision-1"):
        ...    # no media item arrives but rollbook's own probe
"""

import time
from contextlib import contextmanager

TRAFFIC_SWITCH = "/srv/sandbox-outer/vision-config/sandbox-traffic"  # the stand-in's /app/config/sandbox-traffic


def media_total(probes, host: str) -> float:
    """Every media item the worker processed (``vision_media_total``, all reasons)."""
    return sum(value for name, value in probes.metrics(host).items() if name.startswith("vision_media_total"))


@contextmanager
def quiet_night(probes, host: str, settle: float = 30):
    """Traffic off, and yields once the items in flight are processed (no count change over 2 s)."""
    shell = probes.ssh(host)
    shell.check_output(f"echo off > {TRAFFIC_SWITCH}")
    try:
        before, deadline = media_total(probes, host), time.monotonic() + settle
        while time.sleep(2) or (now := media_total(probes, host)) != before:
            assert time.monotonic() < deadline, "the sandbox's background traffic is still on"
            before = now
        yield
    finally:
        shell.check_output(f"rm -f {TRAFFIC_SWITCH}")
