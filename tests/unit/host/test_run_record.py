"""The run's record on a host (``rollbook/host/scripts/run_record.py``), run here as a host runs it:
``python3 <state dir>/bin/run_record.py COMMAND JSON``, as root's own file."""

import json
import stat
import subprocess
from pathlib import Path

from rollbook.pipeline.record import SCRIPT, host_command, script_path


def run(state_dir: Path, command: str, **arguments) -> subprocess.CompletedProcess:
    path = Path(script_path(str(state_dir)))
    if not path.exists():
        path.parent.mkdir(parents=True)
        path.write_text(SCRIPT)
    return subprocess.run(["sh", "-c", host_command(str(state_dir), command, **arguments)], capture_output=True,
                          text=True)


def begin(state_dir: Path, run_id: str, **changes):
    arguments = dict(system="vision", info=json.dumps({"run_id": run_id}), approval="", marker="",
                     environment="sandbox", private_dir=str(state_dir / "private" / run_id),
                     started_marker=str(state_dir / "private" / run_id / "started"),
                     state={"units": {"b": "rolled_back"}, "last_run": run_id}, history={"event": "started",
                                                                                           "run_id": run_id},
                     uploads=None)
    arguments.update(changes)
    return run(state_dir, "begin", **arguments)


def history(state_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (state_dir / "history.jsonl").read_text().splitlines()]


def test_a_lock_is_taken_once_recorded_and_released_only_by_its_run(tmp_path):
    first = begin(tmp_path, "r1")
    assert first.stdout.splitlines() == ["ACQUIRED"], first.stderr
    assert json.loads((tmp_path / "state.json").read_text())["vision"] == {"units": {"b": "rolled_back"},
                                                                           "last_run": "r1"}
    assert (tmp_path / "private" / "r1" / "started").exists() and history(tmp_path) == [
        {"event": "started", "run_id": "r1"}]
    second = begin(tmp_path, "r2").stdout.splitlines()
    assert second[0] == "HELD" and len(second[1]) == 64 and json.loads(second[2]) == {"run_id": "r1"}
    run(tmp_path, "finish", system="vision", run_id="r2", started_marker=str(tmp_path / "x"),
        history={"event": "finished", "run_id": "r2"})
    assert (tmp_path / "locks" / "vision.lock").exists()  # not r2's to release
    run(tmp_path, "finish", system="vision", run_id="r1", started_marker=str(tmp_path / "private/r1/started"),
        history={"event": "finished", "run_id": "r1"})
    assert not (tmp_path / "locks" / "vision.lock").exists()
    assert [stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("history.jsonl", "state.json")] == [0o600] * 2


def test_a_host_enrolled_elsewhere_and_a_used_approval_are_refused_before_the_lock(tmp_path):
    marker = tmp_path / "environment"
    marker.write_text("prod\n")
    assert begin(tmp_path, "r1", marker=str(marker)).stdout.splitlines() == ["ENROLLED", "prod"]
    assert begin(tmp_path, "r1", marker=str(tmp_path / "none")).stdout.splitlines() == ["ENROLLED", "none"]
    assert begin(tmp_path, "r1", approval="a-1").stdout.splitlines() == ["ACQUIRED"]
    run(tmp_path, "finish", system="vision", run_id="r1", started_marker=str(tmp_path / "private/r1/started"),
        history={"event": "finished"})
    assert begin(tmp_path, "r2", approval="a-1").stdout.splitlines() == ["REUSED"]
    assert not (tmp_path / "locks" / "vision.lock").exists()


def test_the_state_merges_units_and_sources_key_by_key_and_keeps_other_systems(tmp_path):
    def merge(system, update):
        begin(tmp_path, "r", system=system, state=update)
        run(tmp_path, "finish", system=system, run_id="r", started_marker=str(tmp_path / "private/r/started"),
            history={})
        return json.loads((tmp_path / "state.json").read_text())

    merge("phase17", {"units": {"router": "enabled"}})
    merge("voice_v2", {"units": {"code": "rolled_back", "env": "enabled"},
                       "sources": {"code": "/srv/backup/voice_v2_20261101"}, "run_id": "r1"})
    state = merge("voice_v2", {"units": {"env": "rolled_back"}, "drop": ["code"], "drop_sources": ["code"],
                               "run_id": "r2"})
    assert state == {"phase17": {"units": {"router": "enabled"}},
                     "voice_v2": {"units": {"env": "rolled_back"}, "sources": {}, "run_id": "r2"}}
    assert not (tmp_path / "state.json.tmp").exists()


def test_an_enrolment_runs_the_script_s_text_before_the_file_is_there(tmp_path):
    done = subprocess.run(["sh", "-c", host_command(str(tmp_path), "history", inline=True, history={"e": 1})],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "RECORDED" and history(tmp_path) == [{"e": 1}]
    assert not Path(script_path(str(tmp_path))).exists()


def test_the_script_parses_as_the_python_of_older_hosts():
    """Debian 11 has Python 3.9: no ``X | None`` evaluated at run time, no newer syntax."""
    import ast

    tree = ast.parse(SCRIPT, feature_version=(3, 7))
    assert any(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body)
