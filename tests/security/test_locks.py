"""Locks that cannot be shared: the host script's takeover and refresh (``run_record.py``, as
deploys/bootstrap.py installs it) run for real against a lock folder, as on a host."""

import hashlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rollbook.core import runs
from rollbook.pipeline.record import SCRIPT, lock_path, refresh_command, script_path, takeover_command

STALE = {"run_id": "old", "operator": "carol", "controller": "gone", "pid": 1,
         "since": "2026-01-01T00:00:00Z", "expires": "2026-01-01T00:30:00Z"}


def _run(tmp_path, run_id: str) -> runs.HostRun:
    return runs.HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py", environment="prod",
                        authorization={}, scope={}, reason="", units_before={}, units_after={"b": "rolled_back"},
                        state_dir=str(tmp_path), run_id=run_id, operator=f"op-{run_id}")


def _stale_lock(tmp_path) -> tuple[Path, str]:
    script = Path(script_path(str(tmp_path)))
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    lock = Path(lock_path(str(tmp_path), "vision"))
    lock.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "private").mkdir(exist_ok=True)  # made by the lock step's first command
    lock.write_text(json.dumps(STALE) + "\n")
    return lock, hashlib.sha256(lock.read_bytes()).hexdigest()


def _info(run_id: str) -> str:
    return json.dumps({**STALE, "run_id": run_id, "expires": "2099-01-01T00:00:00Z"})


def test_two_controllers_taking_over_one_stale_lock_leave_exactly_one_winner(tmp_path):
    for attempt in range(5):
        lock, seen = _stale_lock(tmp_path)
        commands = [takeover_command(str(tmp_path), _run(tmp_path, f"r{attempt}-{n}"), _info(f"r{attempt}-{n}"),
                                     seen, STALE) for n in range(2)]
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda cmd: subprocess.run(["sh", "-c", cmd], capture_output=True, text=True),
                                 commands))
        said = sorted(d.stdout.splitlines()[0] for d in done)
        assert said == ["LOST", "TAKEN"], [d.stdout + d.stderr for d in done]
        winner = json.loads(lock.read_text())["run_id"]
        loser = next(d for d in done if d.stdout.startswith("LOST"))
        assert winner in loser.stdout  # the loser reads who holds it now, to name them
        started = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
        assert [r["run_id"] for r in started if r["event"] == "started"][-1] == winner
        (tmp_path / "history.jsonl").unlink()


def test_a_takeover_of_a_lock_that_changed_since_it_was_read_is_lost(tmp_path):
    lock, seen = _stale_lock(tmp_path)
    lock.write_text(json.dumps({**STALE, "run_id": "fresh"}) + "\n")  # someone else took it meanwhile
    done = subprocess.run(["sh", "-c", takeover_command(str(tmp_path), _run(tmp_path, "late"), _info("late"),
                                                        seen, STALE)], capture_output=True, text=True)
    assert done.stdout.startswith("LOST") and '"fresh"' in done.stdout
    assert json.loads(lock.read_text())["run_id"] == "fresh"


def test_a_holder_refreshes_its_own_lock_and_never_another_ones(tmp_path):
    lock, _ = _stale_lock(tmp_path)
    lock.write_text(_info("mine").replace("2099-01-01T00:00:00Z", "2026-01-01T00:00:00Z") + "\n")
    subprocess.run(["sh", "-c", refresh_command(str(tmp_path), _run(tmp_path, "mine"), 1800)], check=True)
    assert json.loads(lock.read_text())["expires"] > "2026-11-01"
    before = lock.read_text()
    done = subprocess.run(["sh", "-c", refresh_command(str(tmp_path), _run(tmp_path, "other"), 1800)])
    assert done.returncode != 0 and lock.read_text() == before
