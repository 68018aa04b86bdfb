"""phase17 facts as data: main.py's router lines and guard, the process, and what the verify observes."""

from rollbook.systems.phase17.facts import (GUARD, INCLUDE_LINE, IMPORT_LINE, Phase17Effect, Phase17Host, Phase17Places, parse_main)

SETTINGS = Phase17Places("/srv/phase17/server", "app/main.py", "settings.py", "/srv/phase17/server.env",
                           "phase17-server", "/srv/phase17/venv", "http://127.0.0.1:8000",
                           "/ws/video/stream?pipeline_id=yolo_ocr", "/v1/health", ("app/tests/video", "tests/api"), 300)


def test_router_lines_active_or_commented_are_found():
    main = parse_main(["mtime 1700000000.25", f"8:# {IMPORT_LINE}", f"15:{INCLUDE_LINE}"])
    assert main.mtime == 1700000000.25 and not main.missing and not main.guarded
    assert main.router == {IMPORT_LINE: True, INCLUDE_LINE: False}


def test_a_missing_duplicated_or_differently_commented_line_is_missing():
    assert parse_main(["mtime 1", f"8:{IMPORT_LINE}"]).missing == [INCLUDE_LINE]
    duplicated = ["mtime 1", f"8:{IMPORT_LINE}", f"9:{INCLUDE_LINE}", f"10:{INCLUDE_LINE}"]
    assert parse_main(duplicated).missing == [INCLUDE_LINE]
    assert parse_main(["mtime 1", f"8:#{IMPORT_LINE}", f"9:{INCLUDE_LINE}"]).missing == [IMPORT_LINE]
    assert parse_main(["missing"]) is None


def test_the_runbook_guard_is_recognised_and_is_not_the_router_shape():
    main = parse_main(["mtime 1", "5:from settings import STREAMING_ENABLED", f"14:{GUARD}",
                       f"15:    {IMPORT_LINE}", f"16:    {INCLUDE_LINE}"])
    assert main.guarded and main.missing == [IMPORT_LINE, INCLUDE_LINE]
    assert not parse_main(["mtime 1", f"14:{GUARD}", f"15:    {IMPORT_LINE}"]).guarded


def test_host_state_parses_every_section():
    output = f"""## recorded
{{"phase17": {{"units": {{"websocket": "rolled_back"}}}}}}
## main
mtime 1700000100.5
8:# {IMPORT_LINE}
15:# {INCLUDE_LINE}
## settings
defined
## env
present
STREAMING_ENABLED=false
## process
running
pid 42
started 1700000000.125
STREAMING_ENABLED=true"""
    state = Phase17Host().process(output.splitlines())
    assert state.recorded == {"websocket": "rolled_back"} and state.settings_define_flag
    assert state.env_file == {"STREAMING_ENABLED": "false"} and state.running == {"STREAMING_ENABLED": "true"}
    assert state.process.pid == 42 and state.process.started == 1700000000.125
    assert state.runs_old_code  # main.py changed after the process started


def test_a_stopped_server_and_a_missing_env_file():
    output = "## main\nmissing\n## settings\nundefined\n## env\nmissing\n## process\nstopped"
    state = Phase17Host().process(output.splitlines())
    assert (state.main, state.env_file, state.running, state.runs_old_code) == (None, None, None, False)
    assert not state.settings_define_flag


def test_host_command_reads_main_py_settings_env_and_process():
    command = Phase17Host().command(SETTINGS, "/var/lib/rollbook/state.json")
    assert "stat -c %.9Y /srv/phase17/server/app/main.py" in command
    assert "grep -n -e video_stream_router -e STREAMING_ENABLED /srv/phase17/server/app/main.py" in command
    assert "/srv/phase17/server/settings.py" in command and "/proc/$pid/environ" in command


def test_effect_command_probes_with_the_servers_python_and_runs_each_suite():
    command = Phase17Effect().command(SETTINGS, health_timeout=30, cycles=20)
    assert "/srv/phase17/venv/bin/python -I - http://127.0.0.1:8000 '/ws/video/stream?pipeline_id=yolo_ocr'" in command
    assert "<<'ROLLBOOK_PROBE'\n" in command and "\nROLLBOOK_PROBE\necho '## suite app/tests/video'" in command
    assert "-m pytest tests/api -q -p no:cacheprovider" in command and "timeout 300" in command


def test_effect_parses_upgrade_memory_and_suites():
    output = """## process
running
pid 42
started 1700000000.0
## probe
health 200
upgrade 101 accepted
message {"status": "ready", "pipeline_id": "yolo_ocr"}
rss 41000 41100
## suite app/tests/video
exit 0
3 passed in 0.22s
## suite tests/api
exit 1
1 failed, 2 passed in 0.30s"""
    seen = Phase17Effect().process(output.splitlines())
    assert (seen.health_code, seen.upgrade_status, seen.accepted, seen.rss_growth_kb) == (200, 101, True, 100)
    assert seen.suites == {"app/tests/video": (0, "3 passed in 0.22s"), "tests/api": (1, "1 failed, 2 passed in 0.30s")}


def test_effect_without_cycles_or_answer():
    output = "## process\nstopped\n## probe\nhealth 0\nupgrade 0 not-accepted\nmessage ConnectionRefusedError: x"
    seen = Phase17Effect().process(output.splitlines())
    assert (seen.process, seen.upgrade_status, seen.accepted, seen.rss_growth_kb) == (None, 0, False, None)
    assert seen.message == "ConnectionRefusedError: x" and seen.suites == {}


def test_only_the_flag_is_read_from_the_env_file_and_the_process():
    command = Phase17Host().command(SETTINGS, "/var/lib/rollbook/state.json")
    assert "(STREAMING_ENABLED)[[:space:]]*=/" in command and "' /srv/phase17/server.env | awk" in command
    assert "grep -E '^(STREAMING_ENABLED)=' || true" in command and "cat /srv/phase17/server.env" not in command
