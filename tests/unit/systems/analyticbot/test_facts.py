from rollbook.host.timeouts import Timeouts
from rollbook.systems.analyticbot.facts import AnalyticbotEffect, AnalyticbotHost, AnalyticbotPlaces

SETTINGS = AnalyticbotPlaces("/opt/a/.env.production", "systemd", "analyticbot-api", "/opt/a", "/opt/a",
                               "/var/log/a.log", "http://127.0.0.1:10300", "DATABASE_URL",
                               ("ENABLE_ADVANCED_RECOMMENDATIONS",))


def test_host_state_parses_process_checkout_ref_and_migration():
    output = """## recorded
{"analyticbot": {"units": {"advanced": "rolled_back"}}}
## env
present
ENABLE_ADVANCED_RECOMMENDATIONS=false
has_database_url
## process
running
started 1700000000
ENABLE_ADVANCED_RECOMMENDATIONS=true
## checkout
head abc
at 1690000000
dirty 0
## ref
def
## migration
columns=has_video,has_media
indexes=idx_posts_content_type
rows=10000
backup="""
    state = AnalyticbotHost().process(output.splitlines())
    assert state.env_file == {"ENABLE_ADVANCED_RECOMMENDATIONS": "false"} and state.has_database_url
    assert state.running == {"ENABLE_ADVANCED_RECOMMENDATIONS": "true"} and state.process_started == 1700000000
    assert (state.head, state.checked_out_at, state.dirty, state.ref_commit) == ("abc", 1690000000, 0, "def")
    assert state.migration.columns == {"has_video", "has_media"} and state.migration.rows == 10000
    assert state.migration.newest_backup == "" and state.recorded == {"advanced": "rolled_back"}


def test_unknown_ref_stopped_process_and_unreachable_database():
    output = "## env\nmissing\n## process\nstopped\n## ref\nunknown\n## migration\nPostgreSQL unreachable at 127.0.0.1:10100 (x)"
    state = AnalyticbotHost().process(output.splitlines())
    assert state.env_file is None and state.running is None and state.ref_commit == ""
    assert state.migration.error == "PostgreSQL unreachable at 127.0.0.1:10100 (x)"
    assert AnalyticbotHost().process(["## env", "missing"]).ref_commit is None


def test_the_commands_never_carry_the_token_or_the_url():
    command = AnalyticbotEffect().command(SETTINGS, "/var/lib/rollbook/private/r.header", "1001", 90, 30)
    assert "-H @/var/lib/rollbook/private/r.header" in command and "rm -f /var/lib/rollbook/private/r.header" in command
    assert "Bearer" not in command
    host_command = AnalyticbotHost().command(SETTINGS, "/var/lib/rollbook/state.json", Timeouts(10, 600), ref="v7.4.0",
                                           migration=True)
    assert "rev-parse -q --verify 'v7.4.0^{commit}'" in host_command and 'psql "$db"' in host_command


def test_effect_parses_health_log_and_best_times():
    output = ("## process\nrunning\nstarted 1\nENABLE_ADVANCED_RECOMMENDATIONS=false\n## health\n200\n"
              '{"status": "healthy"}\n\n## log\nx [INFO] Feature flags - Advanced: False\n## best_times\n'
              '200 0.012\n{"data": {}}\n')
    seen = AnalyticbotEffect().process(output.splitlines())
    assert seen.health_code == 200 and '"healthy"' in seen.health
    assert seen.log_tail == ["x [INFO] Feature flags - Advanced: False"]
    assert (seen.best_times_code, seen.best_times_seconds, seen.best_times) == (200, 0.012, '{"data": {}}')


def test_the_migration_read_has_no_password_in_arguments_and_a_statement_timeout():
    command = AnalyticbotHost().command(SETTINGS, "/var/lib/rollbook/state.json", Timeouts(10, 300), migration=True)
    assert "export PGPASSWORD" in command and "grep -e '^DATABASE_URL='" in command
    assert "SET statement_timeout = " in command and "300s" in command.split("SET statement_timeout = ")[1][:40]
    state = AnalyticbotHost().process(["## env", "missing", "## migration", "SET", "columns=has_video,has_media",
                                       "indexes=", "rows=3", "backup="])
    assert state.migration.rows == 3 and state.migration.columns == {"has_video", "has_media"}  # psql's "SET" tag
