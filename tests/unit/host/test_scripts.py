"""The host scripts, run here as the hosts run them (the state merge with python3 -c, the stream-entry
reader with awk)."""

import json
import stat
import subprocess

from rollbook.host.scripts import source


def merge(path, system: str, update: dict):
    subprocess.run(["python3", "-c", source("state_merge"), str(path), system, json.dumps(update)], check=True)
    return json.loads(path.read_text())


def test_the_state_merge_merges_units_and_sources_key_by_key_and_keeps_other_systems(tmp_path):
    path = tmp_path / "state.json"
    merge(path, "phase17", {"units": {"router": "enabled"}})
    state = merge(path, "voice_v2", {"units": {"code": "rolled_back", "env": "enabled"},
                                     "sources": {"code": "/srv/backup/voice_v2_20261101"}, "run_id": "r1"})
    state = merge(path, "voice_v2", {"units": {"env": "rolled_back"}, "drop": ["code"], "drop_sources": ["code"],
                                     "run_id": "r2"})
    assert state == {"phase17": {"units": {"router": "enabled"}},
                     "voice_v2": {"units": {"env": "rolled_back"}, "sources": {}, "run_id": "r2"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and not (tmp_path / "state.json.tmp").exists()


XRANGE = '''1) 1) "1-0"
   2) 1) "post_id"
      2) "p 1"
2) 1) "2-0"
   2) 1) "post_id"
      2) "say \\\\"hi\\\\""
'''


def test_the_stream_entry_reader_prints_one_line_per_entry_and_the_ids(tmp_path):
    ids = tmp_path / "ids"
    done = subprocess.run(["awk", "-v", f"ids={ids}", source("stream_entries.awk")], input=XRANGE,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['1-0 "post_id" "p 1"', '2-0 "post_id" "say \\\\"hi\\\\""']
    assert ids.read_text().split() == ["1-0", "2-0"]


def test_anything_but_entries_exits_2(tmp_path):
    done = subprocess.run(["awk", "-v", f"ids={tmp_path / 'ids'}", source("stream_entries.awk")],
                          input="(error) WRONGTYPE Operation against a key\n", capture_output=True, text=True)
    assert done.returncode == 2
