"""voice-v2's validation (runbook 003's checks), a script that runs on the host with the service's own Python."""

import json
import subprocess

from rollbook.host.scripts import source
from rollbook.systems.voice_v2 import facts


def test_the_voice_v2_validation_runs_the_runbook_s_checks_with_the_app_it_finds(tmp_path):
    """Run against the sandbox's stand-in app (its modules as runbook 003 names them), from the app's
    directory, reading its .env as the app does: a wrong key is a failed provider; values never show."""
    import hashlib
    import shutil
    from pathlib import Path

    app = Path(__file__).parents[3] / "sandbox/images/voice_v2/root/opt/voice_v2"
    shutil.copytree(app / "app", tmp_path / "app")
    (tmp_path / "config").mkdir()
    (tmp_path / "config/providers.json").write_text(json.dumps({
        "stt": {"openai": {"enabled": True, "priority": 1}, "yandex": {"enabled": False, "priority": 2}},
        "tts": {"openai": {"enabled": True, "priority": 1}, "yandex": {"enabled": True, "priority": 2}}}))
    (tmp_path / "vendor-keys").write_text(hashlib.sha256(b"s3cret-openai").hexdigest() + "\n")
    (tmp_path / ".env").write_text(f'VOICE_V2_VENDOR_KEYS={tmp_path}/vendor-keys\nOPENAI_API_KEY="s3cret-openai"\n'
                                   "YANDEX_API_KEY=s3cret-wrong\nVOICE_V2_TTS_DELAY_MS=1\n")
    done = subprocess.run(["python3", "-B", "-", "4"], input=source("validation", facts.__file__), cwd=tmp_path,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["providers"]["stt"] == {"openai": {"enabled": True, "priority": 1},
                                          "yandex": {"enabled": False, "priority": 2}}
    assert report["failed_providers"] == ["tts:yandex"]
    assert report["stt"] == "ok (expected audio error)" and report["tts"] == "ok"
    assert len(report["latencies"]) == 4 and report["latency_failures"] == 0
    assert "s3cret" not in done.stdout + done.stderr and not list(tmp_path.rglob("__pycache__"))
