"""Lock staleness: a lock is stale only when expired or when its holder is known to be gone."""

import subprocess
from datetime import datetime, timezone

from rollbook import runs
from rollbook.operations.run import stale_because

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def holder(**changes):
    lock = {"run_id": "r1", "operator": "alice", "controller": "elsewhere", "pid": 1,
            "since": "2026-11-23T11:59:00Z", "expires": "2026-11-23T12:30:00Z"}
    lock.update(changes)
    return lock


def test_a_live_lock_of_another_controller_is_not_stale():
    assert stale_because(holder(), NOW) == ""


def test_an_expired_lock_is_stale():
    assert stale_because(holder(expires="2026-11-23T11:00:00Z"), NOW) == "expired at 2026-11-23T11:00:00Z"


def test_a_lock_whose_holder_process_is_gone_is_stale():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert "is gone" in stale_because(holder(controller=runs.CONTROLLER, pid=gone.pid), NOW)
    assert stale_because(holder(controller=runs.CONTROLLER, pid=runs.PID), NOW) == ""


def test_an_unreadable_lock_is_stale():
    assert stale_because({}, NOW) == "unreadable lock"
