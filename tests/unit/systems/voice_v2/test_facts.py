from rollbook.systems.voice_v2.facts import VoiceEffect, VoiceHost, VoiceSettings, parse_memory

SETTINGS = VoiceSettings(unit="systemd", service="voice-v2-service", app_dir="/opt/voice_v2",
                         env_file="/opt/voice_v2/.env", env_previous="/opt/voice_v2/.env.previous",
                         providers_file="/opt/voice_v2/config/providers.json", code_dir="app/services/voice_v2",
                         venv="/opt/voice_v2/venv", venv_backup="/opt/voice_v2/venv_backup",
                         compose_file="/opt/voice_v2/docker-compose.yml", image="voice-v2",
                         base_url="http://127.0.0.1:8000")


def test_host_state_parses_env_previous_providers_process_and_health():
    output = """## recorded
{"voice_v2": {"units": {"config": "rolled_back"}}}
## env
present
VOICE_V2_OPTIMIZED=true
## process
running
started 1700000000
VOICE_V2_OPTIMIZED=true
PATH=/usr/bin
## health
{"status": "healthy", "code": "abc", "requirements": "req", "providers_sha256": "p"}
## previous
present
VOICE_V2_OPTIMIZED=false
## providers
present
{"stt": {}, "tts": {}}
"""
    state = VoiceHost().process(output.splitlines())
    assert state.env_file == {"VOICE_V2_OPTIMIZED": "true"} and state.previous == {"VOICE_V2_OPTIMIZED": "false"}
    assert state.running["VOICE_V2_OPTIMIZED"] == "true" and state.started == 1700000000
    assert (state.running_code, state.running_requirements, state.running_providers) == ("abc", "req", "p")
    assert state.providers == '{"stt": {}, "tts": {}}\n' and state.recorded == {"config": "rolled_back"}
    assert state.code is None and state.venv is None and state.image is None


def test_host_state_parses_code_venv_and_image_sections():
    output = """## env
missing
## process
stopped
## health

## code
tree aaa
requirements r1
installed 
head c0ffee
source /backup/voice_v2_20251101
target bbb
target_requirements r2
## venv
tree v1
backup v2
at 1700000100
## image
file_tag latest
target_id 
running_id sha256:1
"""
    state = VoiceHost().process(output.splitlines())
    assert state.env_file is None and state.running is None and state.health == {}
    assert (state.code.tree, state.code.target, state.code.source, state.code.installed, state.code.head) == \
        ("aaa", "bbb", "/backup/voice_v2_20251101", "", "c0ffee")
    assert (state.venv.tree, state.venv.backup, state.venv.changed_at) == ("v1", "v2", 1700000100)
    assert (state.image.file_tag, state.image.target_id, state.image.running_id) == ("latest", "", "sha256:1")


def test_no_backup_directory_leaves_the_source_empty():
    state = VoiceHost().process(["## env", "missing", "## code", "tree aaa", "requirements r", "installed x", "head "])
    assert state.code.source == "" and state.code.target == "missing"


def test_the_commands_read_only_what_the_level_needs():
    level_1 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=1)
    assert "## previous" in level_1 and "## code" not in level_1
    level_2 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=2, backup="")
    assert "ls -1d /backup/voice_v2_[0-9]*" in level_2 and "## previous" not in level_2
    git = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=2, ref="v1.9.0")
    assert "git -C /opt/voice_v2 archive" in git and "'v1.9.0^{commit}'" in git
    level_3 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=3, image_tag="previous-stable")
    assert "## venv" in level_3 and "## image" not in level_3


def test_effect_parses_the_checks_and_memory():
    output = """## process
running
started 1
## health
200
{"status": "healthy"}
## providers
200
{"stt": {}, "tts": {}, "failed_providers": []}
## stt
200
{"ok": true, "provider": "openai"}
## tts
503
{"ok": false, "error": "no connected tts provider"}
## latency
200 0.021
200 0.030
000 30.0
## memory
20188kB
"""
    seen = VoiceEffect().process(output.splitlines())
    assert (seen.health_code, seen.providers_code, seen.stt_code, seen.tts_code) == (200, 200, 200, 503)
    assert seen.latencies == [0.021, 0.030] and seen.latency_failures == 1
    assert seen.memory_mb == 19.71 and seen.image is None


def test_memory_units():
    assert parse_memory("1048576kB") == 1024 and parse_memory("12.5MiB") == 12.5 and parse_memory("1GiB") == 1024
    assert parse_memory("kB") is None and parse_memory("") is None
