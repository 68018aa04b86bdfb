from rollbook.host.sections import recorded_section
from rollbook.systems.voice_v2.facts import VoiceEffect, VoiceHost, VoiceRecorded, VoicePlaces, parse_memory

SETTINGS = VoicePlaces(unit="systemd", service="voice-v2-service", app_dir="/opt/voice_v2",
                         env_file="/opt/voice_v2/.env", env_previous="/opt/voice_v2/.env.previous",
                         providers_file="/opt/voice_v2/config/providers.json", code_dir="app/services/voice_v2",
                         venv="/opt/voice_v2/venv", venv_backup="/opt/voice_v2/venv_backup",
                         compose_file="/opt/voice_v2/docker-compose.yml", image="voice-v2",
                         base_url="http://127.0.0.1:8000")


def test_host_state_parses_env_previous_providers_and_process():
    output = """## recorded
{"voice_v2": {"units": {"config": "rolled_back"}}}
## env
present
VOICE_V2_OPTIMIZED=true
## process
running
started 1700000000.250
VOICE_V2_OPTIMIZED=true
PATH=/usr/bin
## previous
present
VOICE_V2_OPTIMIZED=false
## providers
present
{"stt": {}, "tts": {}}
## providers_changed
1700000001.125000000
"""
    state = VoiceHost().process(output.splitlines())
    assert state.env_file == {"VOICE_V2_OPTIMIZED": "true"} and state.previous == {"VOICE_V2_OPTIMIZED": "false"}
    assert state.running["VOICE_V2_OPTIMIZED"] == "true" and state.started == 1700000000.25
    assert state.providers_changed == 1700000001.125 and state.providers_stale  # edited after the start
    assert state.providers == '{"stt": {}, "tts": {}}\n' and state.recorded == {"config": "rolled_back"}
    assert state.code is None and state.venv is None and state.image is None


def test_host_state_parses_code_venv_and_image_sections():
    output = """## env
missing
## process
stopped
## code
tree aaa
requirements r1
installed 
head c0ffee
source /backup/voice_v2_20251101
target bbb
target_requirements r2
changed 1700000050.5
## venv
tree v1
backup v2
changed 1700000100.75
## image
file_tag latest
target_id 
running_id sha256:1
"""
    state = VoiceHost().process(output.splitlines())
    assert state.env_file is None and state.running is None and not state.providers_stale
    assert (state.code.tree, state.code.target, state.code.source, state.code.installed, state.code.head) == \
        ("aaa", "bbb", "/backup/voice_v2_20251101", "", "c0ffee")
    assert state.code.changed == 1700000050.5
    assert (state.venv.tree, state.venv.backup, state.venv.changed) == ("v1", "v2", 1700000100.75)
    assert (state.image.file_tag, state.image.target_id, state.image.running_id) == ("latest", "", "sha256:1")


def test_no_backup_directory_leaves_the_source_empty():
    state = VoiceHost().process(["## env", "missing", "## code", "tree aaa", "requirements r", "installed x", "head "])
    assert state.code.source == "" and state.code.target == "missing" and state.code.changed == 0


def test_the_commands_read_only_what_the_level_needs():
    level_1 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=1)
    assert "## previous" in level_1 and "## code" not in level_1
    level_2 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=2, backup="")
    assert "ls -1d /backup/voice_v2_[0-9]*" in level_2 and "## previous" not in level_2
    git = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=2, ref="v1.9.0")
    assert "git -C /opt/voice_v2 archive" in git and "'v1.9.0^{commit}'" in git
    level_3 = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=3, image_tag="previous-stable")
    assert "## venv" in level_3 and "## image" not in level_3
    converge = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=(1, 3))
    assert "## previous" in converge and "## venv" in converge and "## code" not in converge
    nothing = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=())
    assert "## recorded" in nothing and "## previous" not in nothing and "## venv" not in nothing


def test_the_recorded_state_holds_the_units_and_the_level_2_source_beside_them():
    output = """## recorded
{"vision": {"units": {"b": "rolled_back"}}, "voice_v2": {"units": {"code": "rolled_back",
 "requirements": "rolled_back"}, "sources": {"code": "/backup/voice_v2_20251101"}, "kind": "rollback"}}
"""
    recorded = VoiceRecorded().process(output.splitlines())
    assert recorded.units == {"code": "rolled_back", "requirements": "rolled_back"}
    assert recorded.sources == {"code": "/backup/voice_v2_20251101"}
    state = VoiceHost().process(output.splitlines() + ["## env", "missing"])
    assert state.sources == {"code": "/backup/voice_v2_20251101"} and state.recorded == recorded.units
    assert VoiceRecorded().process(["## recorded", "{not json"]).units == {}
    assert VoiceRecorded().process(["## recorded", '{"voice_v2": {"units": {}}}']).sources == {}  # before sources
    assert VoiceRecorded().command("/var/lib/rollbook/state.json") == \
        recorded_section("/var/lib/rollbook/state.json")


def test_effect_parses_health_the_validation_the_code_on_disk_and_memory():
    output = """## health
200
{"status": "healthy", "version": "1.9.0"}
## process
running
started 1700000000.5
## memory
20188kB
## providers_changed
1699999999.000000000
## code
changed 1699999990.0
tree t0
installed r0
## validation
{"providers": {"stt": {"openai": {"enabled": true, "priority": 1}}}, "failed_providers": [], "stt": "ok", \
"tts": "ok", "latencies": [0.021, 0.03], "latency_failures": 1}
"""
    seen = VoiceEffect().process(output.splitlines())
    assert (seen.health_code, seen.health["version"], seen.started) == (200, "1.9.0", 1700000000.5)
    assert seen.validation["failed_providers"] == [] and seen.latencies == [0.021, 0.03] and seen.latency_failures == 1
    assert seen.code == {"changed": "1699999990.0", "tree": "t0", "installed": "r0"}
    assert seen.memory_mb == 19.71 and seen.image is None and seen.providers_changed == 1699999999.0
    nothing = VoiceEffect().process(["## health", "000", "## process", "stopped", "## validation"])
    assert (nothing.health_code, nothing.running, nothing.validation, nothing.latencies) == (0, None, {}, [])


def test_effect_runs_the_validation_with_the_service_s_own_interpreter_where_the_service_runs():
    systemd = VoiceEffect().command(SETTINGS, 30, 9)
    assert "cd /opt/voice_v2 && timeout 120 /opt/voice_v2/venv/bin/python -B - 9 <<'ROLLBOOK_VALIDATION'" in systemd
    assert "ProductionValidator().validate_provider_connectivity()" in systemd and systemd.endswith("| tail -n 1\n")
    assert "## code" not in systemd and "## image" not in systemd
    from dataclasses import replace
    compose = VoiceEffect().command(replace(SETTINGS, unit="compose", service="voice-v2"), 30, 9, image_tag="latest",
                                    validation_timeout=60)
    assert 'timeout 60 docker exec -i "$id" /opt/voice_v2/venv/bin/python -B - 9' in compose and "## image" in compose
    both = VoiceEffect().command(SETTINGS, 30, 9, code=True, venv=True)
    assert "echo \"tree $(th " in both and "echo \"venv $(th /opt/voice_v2/venv)\"" in both


def test_memory_units():
    assert parse_memory("1048576kB") == 1024 and parse_memory("12.5MiB") == 12.5 and parse_memory("1GiB") == 1024
    assert parse_memory("kB") is None and parse_memory("") is None


def test_level_1_sends_no_env_value_except_the_public_ones(tmp_path):
    """.env, .env.previous and the running process's environment, read for real with sh: only the public
    keys' values arrive; every other key arrives as a digest, equal for equal values on the host."""
    import os
    import subprocess

    from rollbook.host.envfile import is_hidden

    app = tmp_path / "app"
    app.mkdir()
    (app / ".env").write_text("VOICE_V2_OPTIMIZED=true\nOPENAI_API_KEY=sk-live-123\nYANDEX_API_KEY=y-1\n")
    (app / ".env.previous").write_text("VOICE_V2_OPTIMIZED=false\nOPENAI_API_KEY=sk-live-123\nYANDEX_API_KEY=y-0\n")
    service = subprocess.Popen(["sleep", "30"], env={**os.environ, "OPENAI_API_KEY": "sk-live-123",
                                                     "VOICE_V2_OPTIMIZED": "true"})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\necho {service.pid}\n")
    (bin_dir / "systemctl").chmod(0o755)
    settings = VoicePlaces(unit="systemd", service="voice-v2-service", app_dir=str(app),
                             env_file=str(app / ".env"), env_previous=str(app / ".env.previous"),
                             providers_file=str(app / "providers.json"), code_dir="code", venv=str(app / "venv"),
                             venv_backup=str(app / "venv_backup"), compose_file=str(app / "compose.yml"),
                             image="voice-v2", base_url="http://127.0.0.1:9")
    command = VoiceHost().command(settings, str(tmp_path / "state" / "state.json"), level=1,
                                  public={"VOICE_V2_OPTIMIZED"})
    try:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    finally:
        service.kill()
    assert "sk-live" not in done.stdout and "y-1" not in done.stdout and "y-0" not in done.stdout
    state = VoiceHost().process(done.stdout.splitlines())
    assert state.env_file["VOICE_V2_OPTIMIZED"] == "true" and state.previous["VOICE_V2_OPTIMIZED"] == "false"
    assert all(is_hidden(state.env_file[key]) for key in ("OPENAI_API_KEY", "YANDEX_API_KEY"))
    assert state.env_file["OPENAI_API_KEY"] == state.previous["OPENAI_API_KEY"] == state.running["OPENAI_API_KEY"]
    assert state.env_file["YANDEX_API_KEY"] != state.previous["YANDEX_API_KEY"]
    assert state.running["VOICE_V2_OPTIMIZED"] == "true" and is_hidden(state.running["PATH"])
    assert (tmp_path / "state" / "private" / "env-digest.salt").stat().st_mode & 0o777 == 0o600


def test_the_effect_hides_the_process_environment_with_the_same_salt():
    command = VoiceEffect().command(SETTINGS, health_timeout=5, latency_requests=1, public={"VOICE_V2_OPTIMIZED"},
                                    salt_file="/var/lib/rollbook/private/env-digest.salt")
    assert "hide VOICE_V2_OPTIMIZED" in command and "/var/lib/rollbook/private/env-digest.salt" in command
    assert "grep -E '^[A-Za-z_]" not in command  # the environment is never printed as it is


def test_a_key_set_from_data_arrives_only_when_it_holds_data_s_value(tmp_path):
    """A key the run sets from data but that is not public: the host sends the value only when it equals
    data's (which the controller knows), else a digest: a differing current value never travels."""
    import subprocess

    from rollbook.host.envfile import hide, hiding, is_hidden

    env = tmp_path / ".env"
    env.write_text("YANDEX_API_KEY=real-key-123\nVOICE_V2_OPTIMIZED=false\n")
    command = f"{hiding(str(tmp_path / 'salt'), {'YANDEX_API_KEY': 'poisoned', 'VOICE_V2_OPTIMIZED': 'false'})}; " \
              f"{hide((), 'systemd')} < {env}"
    lines = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert is_hidden(values["YANDEX_API_KEY"]) and "real-key" not in "".join(lines)
    assert values["VOICE_V2_OPTIMIZED"] == "false"
    host = VoiceHost().command(SETTINGS, "/var/lib/rollbook/state.json", level=1, targets={"A": "1"})
    assert "RB_TARGETS='{\"A\": \"1\"}'" in host


def test_level_1_converges_env_to_env_previous_on_the_host_and_then_plans_nothing(tmp_path):
    """The level-1 data path without a controller-side value: read (hidden), plan, copy on the host, read again."""
    import subprocess

    from rollbook.host import envfile

    app = tmp_path / "app"
    app.mkdir()
    env, previous = app / ".env", app / ".env.previous"
    env.write_text("COMPOSE_PROJECT_NAME=v\nOPENAI_API_KEY=sk-new|&\\x\n# 2.0\nVOICE_V2_OPTIMIZED=true\nEXTRA=kept\n")
    previous.write_text("COMPOSE_PROJECT_NAME=v\nOPENAI_API_KEY=sk-old'\"$(x)\nVOICE_V2_OPTIMIZED=false\nNEW_KEY=n\n")
    settings = VoicePlaces(unit="systemd", service="rollbook-no-such-unit", app_dir=str(app), env_file=str(env),
                             env_previous=str(previous), providers_file=str(app / "p.json"), code_dir="c",
                             venv=str(app / "v"), venv_backup=str(app / "vb"), compose_file=str(app / "c.yml"),
                             image="voice-v2", base_url="http://127.0.0.1:9")
    data_env = {"VOICE_V2_TTS_DELAY_MS": "20"}  # voice_rolled_back_env: applied over .env.previous

    def read():
        command = VoiceHost().command(settings, str(tmp_path / "state" / "state.json"), level=1,
                                      public=envfile.public_keys({}), targets=data_env)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
        assert "sk-" not in done.stdout
        return VoiceHost().process(done.stdout.splitlines())

    state = read()
    target = {**state.previous, **data_env}
    copied = tuple(sorted(set(state.previous) - set(data_env)))
    plan = envfile.plan_changes(state.env_file, target)
    assert [change.key for change in plan] == ["OPENAI_API_KEY", "VOICE_V2_OPTIMIZED", "NEW_KEY", "VOICE_V2_TTS_DELAY_MS"]
    assert envfile.describe(plan) == ["OPENAI_API_KEY: *** -> ***", "VOICE_V2_OPTIMIZED: *** -> ***",
                                      "NEW_KEY: (unset) -> ***", "VOICE_V2_TTS_DELAY_MS: (unset) -> ***"]
    command = str(envfile.edit_command(str(env), plan, str(previous), copied))
    assert "sk-old" not in command
    subprocess.run(["sh", "-c", command], check=True)
    assert env.read_text() == ("COMPOSE_PROJECT_NAME=v\nOPENAI_API_KEY=sk-old'\"$(x)\n# 2.0\nVOICE_V2_OPTIMIZED=false\n"
                               "EXTRA=kept\nNEW_KEY=n\nVOICE_V2_TTS_DELAY_MS=20\n")
    again = read()
    assert envfile.plan_changes(again.env_file, {**again.previous, **data_env}) == []
    assert again.env_file["VOICE_V2_TTS_DELAY_MS"] == "20"  # holds data's value: arrives as it is


def test_env_is_compared_with_env_previous_on_the_host_apart_from_data_s_keys(tmp_path):
    """Values as people write them (=, ?, quotes, spaces, $, base64 padding) are compared by hash, on the host."""
    import dataclasses
    import subprocess

    from rollbook.systems.voice_v2.facts import _env_rest_section

    previous = ('DATABASE_URL=postgresql://u:p%40ss@db:5432/v?sslmode=require\nTOKEN=YWJjZA==\n'
                'GREETING="hello there $USER"\nVOICE_V2_OPTIMIZED=false\n')
    settings = dataclasses.replace(SETTINGS, env_file=str(tmp_path / ".env"), env_previous=str(tmp_path / ".env.previous"))
    (tmp_path / ".env.previous").write_text(previous)

    def compared(env: str, keys: list[str]) -> str:
        (tmp_path / ".env").write_text(env)
        done = subprocess.run(["sh", "-c", _env_rest_section(settings, keys)], capture_output=True, text=True)
        return VoiceHost().process(done.stdout.splitlines()).env_matches_previous

    assert compared(previous, []) is True
    assert compared(previous.replace("YWJjZA==", "YWJjZA="), []) is False
    assert compared(previous.replace("false", "true"), ["VOICE_V2_OPTIMIZED"]) is True  # data's key aside
    assert compared(previous + "EXTRA=1\n", ["VOICE_V2_OPTIMIZED"]) is False
