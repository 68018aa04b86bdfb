"""Vision facts: what their one command prints, parsed (outputs as data, the pyinfra way)."""

from rollbook.host.timeouts import Timeouts
from rollbook.systems.vision.facts import VisionEffect, VisionHost, VisionPlaces
from rollbook.systems.vision.request import MANAGED_KEYS

SETTINGS = VisionPlaces("/opt/vision/.env", "/opt/vision", "worker", "/opt/vision/config/x.yml",
                          "http://127.0.0.1:8001", "vision:phash", "stream:posts:vision:low", MANAGED_KEYS,
                          "stream:posts:vision:uploaded", "vision_workers")

HOST_OUTPUT = """## recorded
{"vision": {"units": {"b": "rolled_back"}, "last_run": "r1"}, "other": {"units": {"x": "y"}}}
## env
present
VISION_PHASH_ENABLED=true
## container
running
VISION_PHASH_ENABLED=true
## experiments
present
wave_a: {enabled: true}
## redis
ok 1000 12
## metrics
vision_experiment_assignments_total{wave="wave_a"} 3
## later
vision_experiment_assignments_total{wave="wave_a"} 5"""


def test_vision_host_parses_every_section():
    state = VisionHost().process(HOST_OUTPUT.splitlines())
    assert state.env_file == {"VISION_PHASH_ENABLED": "true"}
    assert state.container == {"VISION_PHASH_ENABLED": "true"}
    assert state.experiments == "wave_a: {enabled: true}\n"
    assert (state.phash_keys, state.low_stream_length, state.redis_error) == (1000, 12, "")
    assert state.later['vision_experiment_assignments_total{wave="wave_a"}'] == 5
    assert state.recorded == {"b": "rolled_back"}


def test_vision_host_says_what_is_missing_or_unreachable():
    output = "## env\nmissing\n## container\nstopped\n## experiments\nmissing\n## redis\nRedis unreachable at 127.0.0.1:6379 (x)"
    state = VisionHost().process(output.splitlines())
    assert state.env_file is None and state.container is None and state.experiments is None
    assert state.phash_keys is None and state.redis_error == "Redis unreachable at 127.0.0.1:6379 (x)"
    assert state.recorded == {}


def test_vision_host_command_reads_only_managed_keys_and_never_echoes_urls():
    command = VisionHost().command(SETTINGS, recorded_file="/var/lib/rollbook/state.json", timeouts=Timeouts(10, 600),
                                   window=2)
    assert "grep -E '^(" in command and "GIGACHAT" not in command
    assert "echo \"$url\"" not in command and "sleep 2" in command


def test_vision_effect_parses_health_scrapes_and_smoke():
    output = ("## container\nrunning\nVISION_PHASH_ENABLED=false\n## health\n200\n## first\nvision_x 1\n"
              "## second\nvision_x 1\n## smoke\nok yes 0 1")
    seen = VisionEffect().process(output.splitlines())
    assert (seen.health, seen.smoke_processed, seen.smoke_pending, seen.smoke_removed) == (200, True, 0, 1)
    assert seen.first == seen.second == {"vision_x": 1.0}
    assert VisionEffect().process(["## health", "000"]).smoke_processed is None


def test_redis_and_postgres_calls_never_carry_the_url_or_a_password():
    from rollbook.host.shell import REDIS_CLI

    host = VisionHost().command(SETTINGS, recorded_file="/var/lib/rollbook/state.json", timeouts=Timeouts(10, 600),
                                count_context=True)
    effect = VisionEffect().command(SETTINGS, window=1, health_timeout=5, timeouts=Timeouts(10, 600), smoke=True)
    for command in (host, effect):
        assert "redis-cli -u" not in command and '"$url" ' not in command
        assert "export REDISCLI_AUTH" in command and "export PGPASSWORD" in command
    assert f"$({REDIS_CLI} --scan --pattern" in host and f"$({REDIS_CLI} XLEN stream:posts:vision:low)" in host
    assert f"timeout 10 {REDIS_CLI} XADD stream:posts:vision:uploaded" in effect
    assert f"timeout 10 {REDIS_CLI} XPENDING" in effect and 'timeout 10 psql "$db"' in effect
    assert "PostgreSQL unreachable at $addr (counting analysis.context)" in host
