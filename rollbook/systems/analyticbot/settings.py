"""The analyticbot API's data keys (group analyticbot_api; runbook 004), declared once.

    >>> AnalyticbotSettings(analyticbot_migration="").analyticbot_migration is None
    True
"""

from typing import Annotated, ClassVar, Literal

from pydantic import StringConstraints, field_validator, model_validator

from ...pipeline.settings import LocalUrl, Positive, SafePath
from ...core.schema import Settings, Text, key
from ..settings_types import (EnvKey, FieldName, GitRef, HealthPath, RelativePath, State, UnitName, blank_to_none, confined, declared_states,
                              items, path_key, relative_key)

Unit = Literal["advanced", "time_weighting", "content_type"]
# A channel as the best-times URL names it (digits, -100..., @name): never /, ? or #.
Channel = Annotated[Text, StringConstraints(pattern=r"\A[A-Za-z0-9_@.-]+\Z")]
# An endpoint path with one {channel} in it: never "..", no query.
BestTimesPath = Annotated[Text, StringConstraints(pattern=r"\A(?!.*\.\.)/[A-Za-z0-9_./-]*\{channel\}[A-Za-z0-9_./-]*\Z")]
# A PostgreSQL column name as SQL spells it unquoted (lower case: it reaches the SQL rollbook writes).
ColumnName = Annotated[Text, StringConstraints(pattern=r"\A[a-z_][a-z0-9_]{0,62}\Z")]


class AnalyticbotSettings(Settings):
    """The analyticbot API's feature flags, migration 004, the release to check out, and where the API lives."""

    title: ClassVar[str] = "Analyticbot API (group analyticbot_api; runbook 004)"

    # --- what a run converges --------------------------------------------------------------------
    analyticbot_features: Literal["all", "time_weighting", "content_type"] = key(
        "all", "What a run converges: rolling back all turns the master flag off, enabling all turns all three "
        "flags on, a partial scope touches its own flag only",
        origin="runbook 004", allowed="all, time_weighting, content_type")
    analyticbot_declared_state: dict[Unit, State] = declared_states(
        Unit, "The state of each unit on a host with no recorded state yet")
    analyticbot_migration: Literal["rollback", "apply"] | None = key(
        None, "Migration 004, only on explicit request", origin="rollbook", allowed="None, rollback, apply")
    analyticbot_migration_sql: Literal["file", "rollbook"] = key(
        "file", "What migration 004 runs: the checkout's own SQL files (file), or rollbook's copy of the "
        "statements (rollbook: a fallback, only when asked for by name)",
        origin="runbook 004", allowed="file, rollbook")
    analyticbot_migration_rollback_file: RelativePath = relative_key(
        "infra/db/migrations/004_rollback.sql", "Migration 004's rollback SQL (from runbook 004)", "the checkout",
        origin="runbook 004")
    analyticbot_migration_apply_file: RelativePath = relative_key(
        "infra/db/migrations/004_content_type.sql", "Migration 004's SQL, re-run by an enable (rollbook's "
        "assumption: runbook 004 says only 're-run migration 004')", "the checkout", origin="rollbook")
    analyticbot_migration_saved_columns: tuple[ColumnName, ...] = key(
        ("has_video", "has_media"), "The columns of posts a migration 004 rollback drops: saved with posts.id "
        "into a backup table first, and restored from it by an apply (from runbook 004: 'Data Loss: "
        "has_video, has_media')", origin="runbook 004", allowed="column names")
    analyticbot_release: GitRef | None = key(
        None, "A known-good git ref to check out in the app's checkout (the full code rollback)", origin="rollbook",
        allowed="None or a ref")

    # --- how and where the API runs on a host --------------------------------------------------
    analyticbot_unit: Literal["systemd", "compose"] = key("systemd", "How the API runs",
                                                          origin="rollbook", allowed="systemd, compose")
    analyticbot_systemd_unit: UnitName = key("analyticbot-api", "The API's systemd unit (analyticbot_unit=systemd)",
                                             origin="runbook 004")
    analyticbot_compose_service: UnitName = key("api", "The API's compose service (analyticbot_unit=compose)",
                                                origin="runbook 004")
    analyticbot_env_file: SafePath = path_key("/opt/analyticbot/.env.production", "The API's env file",
                                              origin="rollbook")
    analyticbot_project_dir: SafePath = path_key("/opt/analyticbot", "The API's compose project folder",
                                                 origin="rollbook")
    analyticbot_checkout: SafePath = path_key("/opt/analyticbot", "The app's git checkout", origin="rollbook")
    analyticbot_version_file: RelativePath | None = key(
        "VERSION", "The file in the checkout holding its release's version: after a release change, /health's "
        "version must be it (None: not compared; rollbook's assumption: runbook 004 shows the version /health "
        "reports, not where it comes from)", origin="rollbook", allowed="None or a path inside the checkout")
    # the best-times answer's field each feature adds under data (absent once it is rolled back)
    analyticbot_field_advanced: FieldName = key(
        "best_day_hour_combinations", "The field the advanced features add to the best-times answer",
        origin="runbook 004", allowed="a JSON field name")
    analyticbot_field_time_weighting: FieldName = key(
        "time_weighted_scores", "The field time weighting adds to the best-times answer (rollbook's assumption: "
        "runbook 004 shows only the advanced field)", origin="rollbook", allowed="a JSON field name")
    analyticbot_field_content_type: FieldName = key(
        "content_type_breakdown", "The field the content-type breakdown adds to the best-times answer (rollbook's "
        "assumption: runbook 004 shows only the advanced field)", origin="rollbook", allowed="a JSON field name")
    analyticbot_log_file: SafePath = path_key("/var/log/analyticbot/production.log", "The API's log file",
                                              origin="runbook 004")
    analyticbot_health_path: HealthPath = key(
        "/health", "The API's health endpoint under analyticbot_base_url (runbook 004: curl "
        "http://localhost:10300/health, answering status healthy)", origin="runbook 004", allowed="a path (/health)")
    analyticbot_best_times_path: BestTimesPath = key(
        "/analytics/predictive/best-times/{channel}", "The best-times endpoint under analyticbot_base_url, "
        "{channel} standing for analyticbot_channel; ?days= is added (runbook 004 calls "
        "/analytics/predictive/best-times/CHANNEL_ID?days=90)", origin="rollbook", allowed="a path holding {channel} once")
    analyticbot_base_url: LocalUrl = key("http://127.0.0.1:10300", "The API as seen from the host",
                                         origin="runbook 004",
                                         allowed="a loopback URL (127.0.0.1, localhost, [::1])")
    analyticbot_database_url_key: EnvKey = key(
        "DATABASE_URL", "The env-file key holding the database URL that migration 004 runs against (psql on the "
        "host)", origin="runbook 004", allowed="an env-file key")
    analyticbot_token_secret: EnvKey = key(
        "ANALYTICBOT_API_TOKEN", "The operator's secret holding the API token for the best-times check",
        origin="rollbook",
        allowed="a secret's name")

    # --- verification ----------------------------------------------------------------------------
    analyticbot_channel: Channel = key("1001", "The channel the best-times check asks about", origin="rollbook")
    analyticbot_days: Positive = key(90, "The days the best-times check asks about",
                                     origin="runbook 004", allowed="1 or more")
    analyticbot_max_response_seconds: Positive = key(
        2, "The runbook's response-time limit for the best-times check, in seconds",
        origin="runbook 004", allowed="1 or more")
    analyticbot_health_timeout: Positive = key(
        30, "Seconds to wait for /health after a restart", origin="rollbook", allowed="1 or more")

    @field_validator("analyticbot_migration", "analyticbot_release", mode="before")
    @classmethod
    def _blank(cls, value):
        return blank_to_none(value)

    @field_validator("analyticbot_migration_saved_columns", mode="before")
    @classmethod
    def _columns(cls, value) -> tuple[str, ...]:
        """Comma-separated text or a list; at least one column."""
        columns = tuple(items(value))
        if not columns:
            raise ValueError("name at least one column of posts")
        return columns

    @model_validator(mode="after")
    def _paths_confined(self):
        """The env file inside the compose project or the checkout; the log under /var/log or the app."""
        app = ("analyticbot_project_dir", "analyticbot_checkout")
        confined(self, {name: name for name in app},
                 {"analyticbot_env_file": app, "analyticbot_log_file": (*app, "/var/log")})
        return self
