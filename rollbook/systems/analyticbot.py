"""The analyticbot API: partial and full rollback, migration 004 without data loss, release rollback,
and proof. Specification: runbook ``004…analyticbot.md``. Entry points::

    pyinfra inventories/prod.py deploys/analyticbot_rollback.py --data analyticbot_features=time_weighting
    pyinfra inventories/staging.py deploys/analyticbot_enable.py --data analyticbot_migration=apply
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy

from .. import envfile, pipeline
from ..facts.analyticbot import (BACKUP_PREFIX, MIGRATION_COLUMNS, MIGRATION_INDEXES, AnalyticbotEffect,
                                 AnalyticbotHost, AnalyticbotSettings)
from ..operations import envfile as env_ops
from ..operations import git, postgres, service, verify
from ..operations.run import connector_arguments
from ..preflight import PreflightError, choice, positive_int, require
from ..secrets import secret
from ..shell import http_ok
from ..timeouts import Timeouts, timeouts_of

SYSTEM, GROUP = "analyticbot", "analyticbot_api"
MASTER, TIME_WEIGHTING, CONTENT_TYPE = ("ENABLE_ADVANCED_RECOMMENDATIONS", "ENABLE_TIME_WEIGHTING",
                                        "ENABLE_CONTENT_TYPE_ANALYSIS")
FLAG_OF = {"advanced": MASTER, "time_weighting": TIME_WEIGHTING, "content_type": CONTENT_TYPE}  # unit -> flag
FEATURES = ("all", "time_weighting", "content_type")
STATES = ("enabled", "rolled_back")
# what a scope converges: a full rollback turns the master off (the quick rollback); enabling all
# turns everything on; a partial scope touches its own flag only (the runbook's scenarios A and B)
UNITS_OF = {("all", "rolled_back"): ("advanced",), ("all", "enabled"): ("advanced", "time_weighting", "content_type"),
            ("time_weighting", "rolled_back"): ("time_weighting",), ("time_weighting", "enabled"): ("time_weighting",),
            ("content_type", "rolled_back"): ("content_type",), ("content_type", "enabled"): ("content_type",)}
MIGRATIONS = ("rollback", "apply")
REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
ADVANCED_FIELDS = {"advanced": "best_day_hour_combinations", "time_weighting": "time_weighted_scores",
                   "content_type": "content_type_breakdown"}


@dataclass(frozen=True)
class AnalyticbotRequest:
    desired: dict[str, str]  # unit -> enabled | rolled_back
    env: dict[str, str]
    migration: str | None
    release: str | None
    settings: AnalyticbotSettings
    environment: str
    channel: str
    days: int
    max_seconds: float
    health_timeout: int
    backup_keep: int
    token_secret: str
    timeouts: Timeouts

    def describe(self) -> str:
        parts = [f"{unit} {state.replace('_', ' ')}" for unit, state in self.desired.items()]
        if self.migration:
            parts.append(f"migration 004 {self.migration}")
        if self.release:
            parts.append(f"release {self.release}")
        return ", ".join(parts)


def _optional_choice(data, key: str, allowed) -> str | None:
    value = data.get(key)
    return None if value in (None, "", False) else choice(value, allowed, key)


def _release(data) -> str | None:
    value = data.get("analyticbot_release")
    if value in (None, "", False):
        return None
    if not REF_PATTERN.match(str(value)):
        raise PreflightError(f"analyticbot_release: {value!r} is not a git ref name")
    return str(value)


def scope_of(data) -> dict[str, str]:
    """What an approval binds: the features, the migration and the release asked for."""
    return {"analyticbot_features": choice(require(data, "analyticbot_features"), FEATURES, "analyticbot_features"),
            "analyticbot_migration": _optional_choice(data, "analyticbot_migration", MIGRATIONS) or "none",
            "analyticbot_release": _release(data) or "none"}


def desired_state(data, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges, and whether all of it comes from the host's record."""
    if target is not None:
        target = choice(target, STATES, "target")
        feature = choice(require(data, "analyticbot_features"), FEATURES, "analyticbot_features")
        return {unit: target for unit in UNITS_OF[(feature, target)]}, False
    declared = require(data, "analyticbot_declared_state")
    desired = {unit: choice(declared.get(unit, "enabled"), STATES, f"analyticbot_declared_state[{unit}]")
               for unit in FLAG_OF}
    known = {unit: state for unit, state in recorded.items() if unit in FLAG_OF and state in STATES}
    desired.update(known)
    return desired, set(known) == set(FLAG_OF)


def request_from(data, desired: dict[str, str], converge: bool = False) -> AnalyticbotRequest:
    """Validate ``data`` for a run converging ``desired``; PreflightError names the bad key."""
    unit = choice(require(data, "analyticbot_unit"), ("systemd", "compose"), "analyticbot_unit")
    settings = AnalyticbotSettings(
        env_file=str(require(data, "analyticbot_env_file")), unit=unit,
        service=str(require(data, "analyticbot_systemd_unit" if unit == "systemd" else "analyticbot_compose_service")),
        project_dir=str(require(data, "analyticbot_project_dir")), checkout=str(require(data, "analyticbot_checkout")),
        log_file=str(require(data, "analyticbot_log_file")),
        base_url=str(require(data, "analyticbot_base_url")).rstrip("/"),
        database_url_key=str(require(data, "analyticbot_database_url_key")), keys=tuple(FLAG_OF.values()),
    )
    return AnalyticbotRequest(
        desired=dict(desired), env={FLAG_OF[u]: "true" if s == "enabled" else "false" for u, s in desired.items()},
        migration=None if converge else _optional_choice(data, "analyticbot_migration", MIGRATIONS),
        release=None if converge else _release(data), settings=settings,
        environment=choice(require(data, "rollbook_environment"), ("sandbox", "staging", "prod"), "rollbook_environment"),
        channel=str(require(data, "analyticbot_channel")),
        days=positive_int(require(data, "analyticbot_days"), "analyticbot_days"),
        max_seconds=float(positive_int(require(data, "analyticbot_max_response_seconds"),
                                       "analyticbot_max_response_seconds")),
        health_timeout=positive_int(require(data, "analyticbot_health_timeout"), "analyticbot_health_timeout"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
        token_secret=str(require(data, "analyticbot_token_secret")),
        timeouts=timeouts_of(data),
    )


def effective(values: dict[str, str]) -> dict[str, bool]:
    """What the API does with these flags: sub-features only count under the master flag."""
    advanced = values.get(MASTER) == "true"
    return {"advanced": advanced, "time_weighting": advanced and values.get(TIME_WEIGHTING) == "true",
            "content_type": advanced and values.get(CONTENT_TYPE) == "true"}


def flags_line(values: dict[str, str]) -> str:
    on = effective(values)
    return (f"Feature flags - Advanced: {on['advanced']}, Time-weighting: {on['time_weighting']}, "
            f"Content-type: {on['content_type']}")


def rollback_sql(backup_table: str) -> str:
    columns = ", ".join(MIGRATION_COLUMNS)
    return (f"CREATE TABLE {backup_table} AS SELECT id, {columns} FROM posts; "
            + " ".join(f"DROP INDEX IF EXISTS {index};" for index in MIGRATION_INDEXES)
            + " ALTER TABLE posts " + ", ".join(f"DROP COLUMN IF EXISTS {c}" for c in MIGRATION_COLUMNS) + ";")


def apply_sql(newest_backup: str) -> str:
    sql = ("ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_video boolean NOT NULL DEFAULT false; "
           "ALTER TABLE posts ADD COLUMN IF NOT EXISTS has_media boolean NOT NULL DEFAULT false; "
           "CREATE INDEX IF NOT EXISTS idx_posts_content_type ON posts (has_video, has_media); "
           "CREATE INDEX IF NOT EXISTS idx_posts_date_content ON posts (date, has_video, has_media);")
    if newest_backup:
        sql += (f" UPDATE posts AS p SET has_video = b.has_video, has_media = b.has_media "
                f"FROM {newest_backup} AS b WHERE p.id = b.id;")
    return sql


def judge(request: AnalyticbotRequest, expected: dict[str, str]):
    """The checks of a run's effect (the runbook's validation after rollback)."""
    on = effective(expected)

    def checks(seen) -> list[tuple[bool, str]]:
        running = seen.running or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result = [(seen.running is not None and not wrong,
                   "process environment holds " + ", ".join(f"{k}={v}" for k, v in expected.items())
                   if not wrong else f"process environment differs: {', '.join(wrong)}")]
        flag_lines = [line for line in seen.log_tail if "Feature flags" in line]
        want = flags_line(expected)
        result.append((bool(flag_lines) and flag_lines[0].endswith(want),
                       f"log shows '{want}'" if flag_lines and flag_lines[0].endswith(want)
                       else f"log shows {flag_lines[0] if flag_lines else 'no Feature flags line'!r}, want '{want}'"))
        errors = [line for line in seen.log_tail if "ERROR" in line]
        result.append((not errors, "no ERROR in the log since the restart" if not errors
                       else f"{len(errors)} ERROR line(s) since the restart: {errors[-1]!r}"))
        try:
            status = json.loads(seen.health or "{}").get("status")
        except ValueError:
            status = None
        result.append((seen.health_code == 200 and status == "healthy", f"/health {seen.health_code} {status}"))
        try:
            data = json.loads(seen.best_times or "{}").get("data") or {}
        except ValueError:
            data = {}
        result.append((seen.best_times_code == 200, f"best-times answers {seen.best_times_code}"))
        for unit, field in ADVANCED_FIELDS.items():
            present = field in data
            result.append((present == on[unit], f"{field} {'present' if present else 'absent'}"
                           f"{'' if present == on[unit] else ' (want ' + ('present' if on[unit] else 'absent') + ')'}"))
        result.append((seen.best_times_seconds <= request.max_seconds,
                       f"best-times answered in {seen.best_times_seconds:.3f}s (limit {request.max_seconds:g}s)"))
        return result

    return checks


def _migration_steps(request, state, run):
    """Migration 004 on request: back up and drop, or re-create and restore (each only when needed)."""
    migration, settings = state.migration, request.settings
    if migration.error:
        pipeline.refuse(run, f"migration 004: {migration.error}")
    columns = set(MIGRATION_COLUMNS) & migration.columns
    if 0 < len(columns) < len(MIGRATION_COLUMNS):
        pipeline.refuse(run, f"posts has only {', '.join(sorted(columns))} of migration 004's columns: fix by hand")
    if request.migration == "rollback":
        backup_table = BACKUP_PREFIX + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ").lower()
        needed = bool(columns)
        run.cleanup.update({"migration_004": "rolled back", "rows_saved": migration.rows,
                            "backup_table": backup_table} if needed else {})
        return postgres.script(
            name="Migration 004 rollback: save (id, has_video, has_media), then drop the columns and indexes",
            env_file=settings.env_file, url_key=settings.database_url_key, sql=rollback_sql(backup_table),
            needed=needed, what="migration 004 rollback", timeouts=request.timeouts,
            summary=[f"posts: save {migration.rows} rows of (id, has_video, has_media) into {backup_table}",
                     f"posts: drop {', '.join(sorted(migration.indexes))} and {', '.join(MIGRATION_COLUMNS)}"])
    needed = not columns or set(MIGRATION_INDEXES) - migration.indexes
    if needed and not columns and not migration.newest_backup:
        logger.warning(f"{host.print_prefix}no {BACKUP_PREFIX}* table: has_video/has_media start as false")
    run.cleanup.update({"migration_004": "applied", "restored_from": migration.newest_backup or "none"}
                       if needed else {})
    return postgres.script(
        name="Migration 004 apply: re-create the columns and indexes, restore values from the newest backup",
        env_file=settings.env_file, url_key=settings.database_url_key, sql=apply_sql(migration.newest_backup),
        needed=bool(needed), what="migration 004 apply", timeouts=request.timeouts,
        summary=[f"posts: add {', '.join(MIGRATION_COLUMNS)} and {', '.join(MIGRATION_INDEXES)}",
                 f"posts: restore values from {migration.newest_backup or '(no backup table)'}"])


@deploy("analyticbot")
def analyticbot(target: str | None = None):
    """
    Converge the analyticbot API: with ``target`` the units named by ``analyticbot_features``,
    without every unit to its recorded (or declared) state. Migration 004 and a release
    checkout only when asked for.

    Example:

    .. code:: python

        from rollbook.systems.analyticbot import analyticbot
        analyticbot(target="rolled_back")
    """
    if GROUP not in host.groups:
        return
    data = host.data
    desired, from_record = desired_state(data, target, {})
    request = request_from(data, desired, converge=target is None)  # bad input fails before any host is touched
    token = secret(request.token_secret, data, "the API token for the best-times check")
    settings = request.settings
    state = host.get_fact(AnalyticbotHost, settings=settings, recorded_file=f"{pipeline.state_dir()}/state.json",
                          ref=request.release, migration=request.migration is not None, timeouts=request.timeouts)
    if target is None:
        desired, from_record = desired_state(data, None, state.recorded)
        request = request_from(data, desired, converge=True)
    run = pipeline.begin(SYSTEM, kind=pipeline.run_kind(target, data),
                         scope=scope_of(data) if target is not None else
                         {"analyticbot_desired": ",".join(f"{u}={s}" for u, s in desired.items())},
                         units_before=state.recorded, units_after=dict(request.desired),
                         from_record=target is None and from_record)
    if state.env_file is None:
        pipeline.refuse(run, f"{settings.env_file} not found")
    if request.release is not None:
        if not state.ref_commit:
            pipeline.refuse(run, f"unknown git ref {request.release!r} in {settings.checkout}")
        if state.dirty:
            pipeline.refuse(run, f"{settings.checkout} has {state.dirty} changed file(s): commit or discard them first")
    if request.migration and not state.has_database_url:
        pipeline.refuse(run, f"migration {request.migration} requested without a database URL: "
                             f"{settings.database_url_key} is not in {settings.env_file}")
    expected = {key: request.env.get(key, state.env_file.get(key)) for key in FLAG_OF.values()}
    if request.migration == "rollback" and effective(expected)["content_type"]:
        pipeline.refuse(run, "migration 004 rollback needs content-type analysis off: roll back "
                             "analyticbot_features=all or content_type in the same run")
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, request.env))

    steps = []
    if request.migration == "apply":  # the columns exist before the API may use them
        steps.append(_migration_steps(request, state, run))
    steps.append(env_ops.keys(name=f"Set the feature flags in {settings.env_file}", path=settings.env_file,
                              current=state.env_file, target=request.env, backup_keep=request.backup_keep))
    if request.release is not None:
        steps.append(git.checked_out(name=f"Check out release {request.release}", checkout=settings.checkout,
                                     ref=request.release, commit=state.ref_commit, head=state.head))
    stale_code = bool(request.release and state.ref_commit != state.head) or \
        (state.process_started and state.checked_out_at > state.process_started)
    steps.append(service.restarted_when_stale(
        name=f"Restart {settings.service} so the process reads the new flags", unit=settings.unit,
        service=settings.service, project_dir=settings.project_dir, running=state.running, target=expected,
        stale_code=bool(stale_code), ready=http_ok(settings.base_url + "/health", request.health_timeout),
        restore=service.Restore(env_file=settings.env_file, keys=tuple(sorted(request.env)), marker=run.restored_marker)))

    header_file = f"{run.private_dir}/{run.run_id}-analyticbot.header"  # 0700 folder

    def upload_token():
        host.put_file(StringIO(f"Authorization: Bearer {token}\n"), header_file, **connector_arguments(host))

    verify.verified(
        name="Verify the analyticbot API's state", what=f"analyticbot {request.describe()}",
        fact=AnalyticbotEffect, before=upload_token,
        fact_kwargs=dict(settings=settings, header_file=header_file, channel=request.channel, days=request.days,
                         health_timeout=request.health_timeout),
        judge=judge(request, expected), system=SYSTEM,
    )
    if request.migration == "rollback":  # once the API no longer reads the columns, and is verified
        steps.append(_migration_steps(request, state, run))
    pipeline.finish(run, changed=any(step.will_change for step in steps))
