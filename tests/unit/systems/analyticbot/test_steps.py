"""The analyticbot stages as data: the request carries the token unseen, refusals in order, converge scope."""

import pytest

from rollbook.pipeline import Context
from rollbook.core.preflight import PreflightError
from rollbook.systems.analyticbot import request as ab
from rollbook.systems.analyticbot.facts import AnalyticbotState, Migration, MigrationFile
from rollbook.systems.analyticbot.steps import ANALYTICBOT

from ...harness import group_data, validated


FILES = {"rollback": MigrationFile("ab" * 32), "apply": MigrationFile("cd" * 32)}


def state(**changes) -> AnalyticbotState:
    fields = dict(env_file={ab.MASTER: "true", ab.TIME_WEIGHTING: "true", ab.CONTENT_TYPE: "true"},
                  has_database_url=True, running=None, process_started=0, head="a", checked_out_at=0, dirty=0,
                  ref_commit=None, migration=Migration(columns={"has_video", "has_media"}, files=FILES), recorded={})
    fields.update(changes)
    return AnalyticbotState(**fields)


def context(target="rolled_back", seen=None, **overrides) -> Context:
    data = {**group_data("sandbox"), **overrides}
    return Context(request=ANALYTICBOT.request(validated(data), target, None), state=seen or state(), run=None, settings=validated(data))


def test_the_request_looks_the_token_up_and_never_shows_it(monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_API_TOKEN", "tok-s3cret")
    made = ANALYTICBOT.request(validated(group_data("sandbox")), "rolled_back", None)
    assert made.token == "tok-s3cret" and "tok-s3cret" not in repr(made)
    assert (made.target, made.from_record, made.desired) == ("rolled_back", False, {"advanced": "rolled_back"})


def test_a_missing_token_fails_the_request_naming_it(monkeypatch):
    monkeypatch.delenv("ANALYTICBOT_API_TOKEN", raising=False)
    with pytest.raises(PreflightError, match="ANALYTICBOT_API_TOKEN"):
        ANALYTICBOT.request(validated({**group_data("sandbox"), "rollbook_secrets_file": ""}), "rolled_back", None)


def test_a_converge_run_follows_the_record_and_binds_it(monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_API_TOKEN", "t")
    recorded = {"advanced": "rolled_back", "time_weighting": "enabled", "content_type": "enabled"}
    made = ANALYTICBOT.request(validated(group_data("sandbox")), None, recorded)
    assert made.from_record and ANALYTICBOT.from_record(made) and made.migration is None
    assert ANALYTICBOT.scope({}, made, None) == {
        "analyticbot_desired": "advanced=rolled_back,time_weighting=enabled,content_type=enabled"}


@pytest.mark.parametrize("overrides, seen, why", [
    ({}, state(env_file=None), ".env.production not found"),
    ({"analyticbot_release": "v9"}, state(ref_commit=""), "unknown git ref 'v9'"),
    ({"analyticbot_migration": "apply"}, state(has_database_url=False), "without a database URL"),
    ({"analyticbot_migration": "rollback", "analyticbot_features": "time_weighting"}, state(),
     "needs content-type analysis off"),
    ({"analyticbot_migration": "rollback"}, state(migration=Migration(error="boom")), "migration 004: boom"),
    ({"analyticbot_migration": "apply"}, state(migration=Migration(columns={"has_video"})), "only has_video"),
    ({"analyticbot_migration": "rollback"}, state(migration=Migration(columns={"has_video", "has_media"})),
     "/opt/analyticbot/infra/db/migrations/004_rollback.sql not found in the checkout (set "
     "analyticbot_migration_rollback_file, or analyticbot_migration_sql=rollbook"),
    ({"analyticbot_migration": "rollback", "analyticbot_migration_sql": "rollbook"},
     state(migration=Migration(columns={"has_video", "has_media"})), ""),
    ({"analyticbot_migration": "rollback"}, state(), ""),
])
def test_refusals_come_before_any_change(monkeypatch, overrides, seen, why):
    monkeypatch.setenv("ANALYTICBOT_API_TOKEN", "t")
    target = "enabled" if overrides.get("analyticbot_migration") == "apply" else "rolled_back"
    refused = ANALYTICBOT.refusal(context(target, seen, **overrides))
    assert (why in refused) if why else refused == ""


def test_the_units_that_differ_are_named_for_the_plan_and_the_drift_report(monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_API_TOKEN", "t")
    recorded = {"advanced": "enabled", "time_weighting": "rolled_back", "content_type": "enabled"}
    flags = {ab.MASTER: "true", ab.TIME_WEIGHTING: "false", ab.CONTENT_TYPE: "true"}
    data = group_data("sandbox")

    def converge(env_file, running) -> Context:
        return Context(request=ANALYTICBOT.request(validated(data), None, recorded), state=state(env_file=env_file,
                       running=running), run=None, settings=validated(data))

    assert ANALYTICBOT.differing(converge(flags, flags)) == []
    edited = {**flags, ab.TIME_WEIGHTING: "true"}
    assert ANALYTICBOT.differing(converge(edited, flags)) == ["time_weighting"]  # a hand edit of the file
    assert ANALYTICBOT.differing(converge(flags, None)) == list(recorded)  # not running: every unit


def test_the_request_reads_pyinfra_s_host_data_as_deploys_give_it(monkeypatch):
    """A run hands the settings preflight loaded from pyinfra's HostData, not a dict."""
    from rollbook.core import loader

    from ...harness import fake_host

    monkeypatch.setenv("ANALYTICBOT_API_TOKEN", "t")
    data = {**group_data("sandbox"), "analyticbot_release": "v7.4.0"}
    with fake_host(data=data, groups=("analyticbot_api", "sandbox")) as on:
        made = ANALYTICBOT.request(loader.load(on), "rolled_back", None)
    assert made.release == "v7.4.0" and made.settings.version_file == "VERSION"
