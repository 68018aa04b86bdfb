"""analyticbot API scenarios (issue: partial and full rollback, migration 004 without data loss, proof).

The systemd host (analyticbot-1) and the compose host (analyticbot-2) are converged by the same
command; each is then checked independently: the process environment (/proc or docker), the log,
HTTP, and the database.
"""

import json
import re

import pytest

from .pyinfra_run import converged_twice, pyinfra

SYSTEMD, COMPOSE = "analyticbot-1", "analyticbot-2"
ENV = "/opt/analyticbot/.env.production"
LOG = "/var/log/analyticbot/production.log"
FLAGS = ("ENABLE_ADVANCED_RECOMMENDATIONS", "ENABLE_TIME_WEIGHTING", "ENABLE_CONTENT_TYPE_ANALYSIS")
CHECKSUM = "SELECT md5(string_agg(id || ':' || has_video || ':' || has_media, ',' ORDER BY id)) FROM posts"


def deploy(name: str, limit: str = "analyticbot_api", **data):
    return pyinfra("inventories/sandbox.py", f"deploys/analyticbot_{name}.py", data=data, limit=limit)


def process_env(probes, name: str) -> dict[str, str]:
    if name == COMPOSE:
        return probes.compose_env(name, "api")
    return probes.unit_env(name, "analyticbot-api")


def last_flags_line(probes, name: str) -> str:
    return [line for line in probes.file_text(name, LOG).splitlines() if "Feature flags" in line][-1]


def best_times(probes, name: str) -> dict:
    token = probes.secrets["ANALYTICBOT_API_TOKEN"]
    status, body = probes.http(name, "api", "/analytics/predictive/best-times/1001?days=90",
                               headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    return json.loads(body)["data"]


def db(probes, name: str):
    return probes.postgres(name, "analytic_bot", "analyticbot", "ANALYTICBOT_DB_PASSWORD")


@pytest.fixture
def enabled(sandbox):
    run = deploy("enable", analyticbot_migration="apply")
    assert run.returncode == 0, run.output


def test_partial_rollback_of_time_weighting_keeps_the_master_on(enabled, probes):
    before = {name: probes.file_text(name, ENV).splitlines() for name in (SYSTEMD, COMPOSE)}
    converged_twice(deploy, "rollback", analyticbot_features="time_weighting")
    for name in (SYSTEMD, COMPOSE):
        after = probes.file_text(name, ENV).splitlines()
        assert [a for a, b in zip(after, before[name]) if a != b] == ["ENABLE_TIME_WEIGHTING=false"]
        env = process_env(probes, name)
        assert (env["ENABLE_ADVANCED_RECOMMENDATIONS"], env["ENABLE_TIME_WEIGHTING"],
                env["ENABLE_CONTENT_TYPE_ANALYSIS"]) == ("true", "false", "true")
        assert last_flags_line(probes, name).endswith(
            "Feature flags - Advanced: True, Time-weighting: False, Content-type: True")
        data = best_times(probes, name)
        assert "best_day_hour_combinations" in data and "time_weighted_scores" not in data


def test_full_rollback_removes_the_advanced_fields_and_enable_brings_them_back(enabled, probes):
    converged_twice(deploy, "rollback")
    for name in (SYSTEMD, COMPOSE):
        assert process_env(probes, name)["ENABLE_ADVANCED_RECOMMENDATIONS"] == "false"
        assert last_flags_line(probes, name).endswith("Advanced: False, Time-weighting: False, Content-type: False")
        status, body = probes.http(name, "api", "/health")
        assert status == 200 and json.loads(body)["status"] == "healthy"
        data = best_times(probes, name)
        assert data["total_posts_analyzed"] > 0
        assert not {"best_day_hour_combinations", "time_weighted_scores", "content_type_breakdown"} & set(data)
    converged_twice(deploy, "enable")
    for name in (SYSTEMD, COMPOSE):
        assert {process_env(probes, name)[flag] for flag in FLAGS} == {"true"}
        assert {"best_day_hour_combinations", "time_weighted_scores", "content_type_breakdown"} <= set(best_times(probes, name))


def test_migration_004_rollback_saves_every_row_and_apply_restores_them(enabled, probes):
    with db(probes, SYSTEMD) as conn:
        conn.execute("DELETE FROM posts")
        conn.execute("INSERT INTO posts (channel_id, date, text, has_video, has_media) "
                     "SELECT 1001, now() - n * interval '1 minute', 'p' || n, n % 7 = 0, n % 3 = 0 "
                     "FROM generate_series(1, 10000) AS n")
        before = conn.execute(CHECKSUM).fetchone()[0]

    converged_twice(deploy, "rollback", limit=SYSTEMD, analyticbot_migration="rollback")
    with db(probes, SYSTEMD) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts'")}
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")}
        backup = conn.execute("SELECT max(table_name) FROM information_schema.tables "
                              "WHERE table_name LIKE 'posts_content_type_backup_%'").fetchone()[0]
        assert not {"has_video", "has_media"} & columns
        assert not {"idx_posts_content_type", "idx_posts_date_content"} & indexes
        assert conn.execute(f"SELECT count(*) FROM {backup}").fetchone()[0] == 10000

    converged_twice(deploy, "enable", limit=SYSTEMD, analyticbot_migration="apply")
    with db(probes, SYSTEMD) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")}
        assert {"idx_posts_content_type", "idx_posts_date_content"} <= indexes
        assert conn.execute(CHECKSUM).fetchone()[0] == before


def test_migration_004_runs_the_team_s_own_files_in_the_checkout(enabled, probes):
    """Runbook 004's `\\i infra/db/migrations/004_rollback.sql`: the checkout's file runs (a statement added
    to it takes effect), and an enable re-runs the checkout's 004 file; the rows' values come back."""
    host, migrations = probes.ssh(SYSTEMD), "/opt/analyticbot/infra/db/migrations"
    host.check_output(f"echo \"COMMENT ON TABLE posts IS 'rolled back by the team''s file';\" >> {migrations}/004_rollback.sql")
    host.check_output(f"echo \"COMMENT ON TABLE posts IS 'applied by the team''s file';\" >> {migrations}/004_content_type.sql")
    comment = "SELECT obj_description('posts'::regclass, 'pg_class')"
    try:
        with db(probes, SYSTEMD) as conn:
            before = conn.execute(CHECKSUM).fetchone()[0]
        run = converged_twice(deploy, "rollback", limit=SYSTEMD, analyticbot_migration="rollback")
        assert f"run {migrations}/004_rollback.sql (sha256 " in run.output, run.output
        with db(probes, SYSTEMD) as conn:
            assert conn.execute(comment).fetchone()[0] == "rolled back by the team's file"
            columns = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts'")}
            assert not {"has_video", "has_media"} & columns
        converged_twice(deploy, "enable", limit=SYSTEMD, analyticbot_migration="apply")
        with db(probes, SYSTEMD) as conn:
            assert conn.execute(comment).fetchone()[0] == "applied by the team's file"
            assert conn.execute(CHECKSUM).fetchone()[0] == before
    finally:
        host.check_output(f"git -C /opt/analyticbot checkout -- {migrations}")


@pytest.mark.parametrize("name", [SYSTEMD, COMPOSE])
def test_release_rollback_checks_out_the_known_good_ref_and_runs_it(enabled, probes, name):
    """systemd: the unit restarts on the checkout; compose: the image is built from it first (the
    runbook's `docker-compose build && docker-compose up -d`), else the old release keeps running."""
    host = probes.ssh(name)
    v740 = host.check_output("git -C /opt/analyticbot rev-parse 'v7.4.0^{commit}'")
    try:
        run = converged_twice(deploy, "rollback", limit=name, analyticbot_release="v7.4.0")
        assert "running release 7.4.0 (the checkout of v7.4.0: VERSION 7.4.0)" in run.output, run.output
        assert host.check_output("git -C /opt/analyticbot rev-parse HEAD") == v740
        assert json.loads(probes.http(name, "api", "/health")[1])["version"] == "7.4.0"
    finally:
        assert deploy("enable", limit=name, analyticbot_release="v7.5.0").returncode == 0
    assert json.loads(probes.http(name, "api", "/health")[1])["version"] == "7.5.0"


def test_a_release_rollback_and_enable_leave_the_previous_release_s_image_as_it_was(enabled, probes):
    """compose: the image the current release runs (built from its checkout, no registry digest) keeps its
    id through a rollback to v7.4.0 and the enable back to v7.5.0, which runs that same image again; a
    flags-only rollback recreates the container on the image it has."""
    def running_image() -> str:
        return probes.compose_container(COMPOSE, "api").attrs["Image"]

    assert deploy("enable", limit=COMPOSE, analyticbot_release="v7.5.0").returncode == 0
    current = running_image()
    host = probes.ssh(COMPOSE)
    try:
        # flags only: recreated on the image it has, even with the Dockerfile changed by hand (a build would
        # make another image)
        host.check_output("echo 'LABEL edited.by.hand=yes' >> /opt/analyticbot/Dockerfile")
        converged_twice(deploy, "rollback", limit=COMPOSE)
        assert running_image() == current
        assert process_env(probes, COMPOSE)["ENABLE_ADVANCED_RECOMMENDATIONS"] == "false"
        converged_twice(deploy, "enable", limit=COMPOSE)
        assert running_image() == current
        host.check_output("git -C /opt/analyticbot checkout -- Dockerfile")
        converged_twice(deploy, "rollback", limit=COMPOSE, analyticbot_release="v7.4.0")
        assert running_image() != current
        assert probes.docker.images.get(current).id == current  # still there, untouched
    finally:
        host.check_output("git -C /opt/analyticbot checkout -- Dockerfile")
        assert deploy("enable", limit=COMPOSE, analyticbot_release="v7.5.0").returncode == 0
    assert running_image() == current
    assert json.loads(probes.http(COMPOSE, "api", "/health")[1])["version"] == "7.5.0"


@pytest.mark.parametrize("data, cause", [
    ({"analyticbot_features": "everything"}, "analyticbot_features: Input should be 'all', 'time_weighting' or 'content_type'"),
    ({"analyticbot_migration": "rollback", "analyticbot_database_url_key": "NO_DATABASE_URL"},
     "migration rollback requested without a database URL"),
    ({"analyticbot_release": "v0.0.0-never"}, "unknown git ref 'v0.0.0-never'"),
])
def test_bad_input_is_one_line_and_touches_nothing(enabled, probes, data, cause):
    before = probes.file_sha256(SYSTEMD, ENV)
    head = probes.ssh(SYSTEMD).check_output("git -C /opt/analyticbot rev-parse HEAD")
    run = deploy("rollback", limit=SYSTEMD, **data)
    assert run.returncode != 0 and cause in run.refusal, run.output
    assert probes.file_sha256(SYSTEMD, ENV) == before
    assert probes.ssh(SYSTEMD).check_output("git -C /opt/analyticbot rev-parse HEAD") == head


def test_the_api_token_never_reaches_the_output(enabled, probes):
    run = deploy("rollback")
    assert run.returncode == 0, run.output
    for secret in ("ANALYTICBOT_API_TOKEN", "ANALYTICBOT_DB_PASSWORD", "ANALYTICBOT_JWT_SECRET"):
        assert probes.secrets[secret] not in run.output
    assert re.search(r"verified: best-times answered in [0-9.]+s", run.output)
    assert not probes.ssh(SYSTEMD).check_output("ls -A /var/lib/rollbook/private")
