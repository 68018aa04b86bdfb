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


def test_the_voice_v2_validation_runs_the_runbook_s_checks_with_the_app_it_finds(tmp_path):
    """Run against the sandbox's stand-in app (its modules as runbook 003 names them), from the app's
    directory, reading its .env as the app does: a wrong key is a failed provider; values never show."""
    import hashlib
    import shutil
    from pathlib import Path

    app = Path(__file__).parents[2] / "sandbox/images/voice_v2/root/opt/voice_v2"
    shutil.copytree(app / "app", tmp_path / "app")
    (tmp_path / "config").mkdir()
    (tmp_path / "config/providers.json").write_text(json.dumps({
        "stt": {"openai": {"enabled": True, "priority": 1}, "yandex": {"enabled": False, "priority": 2}},
        "tts": {"openai": {"enabled": True, "priority": 1}, "yandex": {"enabled": True, "priority": 2}}}))
    (tmp_path / "vendor-keys").write_text(hashlib.sha256(b"s3cret-openai").hexdigest() + "\n")
    (tmp_path / ".env").write_text(f'VOICE_V2_VENDOR_KEYS={tmp_path}/vendor-keys\nOPENAI_API_KEY="s3cret-openai"\n'
                                   "YANDEX_API_KEY=s3cret-wrong\nVOICE_V2_TTS_DELAY_MS=1\n")
    done = subprocess.run(["python3", "-B", "-", "4"], input=source("voice_v2_validation"), cwd=tmp_path,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["providers"]["stt"] == {"openai": {"enabled": True, "priority": 1},
                                          "yandex": {"enabled": False, "priority": 2}}
    assert report["failed_providers"] == ["tts:yandex"]
    assert report["stt"] == "ok (expected audio error)" and report["tts"] == "ok"
    assert len(report["latencies"]) == 4 and report["latency_failures"] == 0
    assert "s3cret" not in done.stdout + done.stderr and not list(tmp_path.rglob("__pycache__"))
