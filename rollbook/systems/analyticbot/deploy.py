"""The analyticbot ``@deploy``: preflight from host data, one state fact, migration 004 and a release
checkout on request, the flags and restart, the verification, the record (see the package docstring)."""

from datetime import datetime, timezone
from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy

from ... import pipeline
from ...host import envfile, git, postgres, service, verify
from ...host.shell import http_ok
from ...operations.run import connector_arguments
from ...secrets import secret
from .checks import judge
from .facts import BACKUP_PREFIX, MIGRATION_COLUMNS, MIGRATION_INDEXES, AnalyticbotEffect, AnalyticbotHost
from .migration import apply_sql, rollback_sql
from .request import FLAG_OF, GROUP, SYSTEM, desired_state, effective, request_from, scope_of


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
    pipeline.preflight()  # unknown keys, security overrides, types: before any host command
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
    public = envfile.public_keys(data, settings.keys)  # the feature flags, plus rollbook_public_env_keys
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, request.env), public)

    steps = []
    if request.migration == "apply":  # the columns exist before the API may use them
        steps.append(_migration_steps(request, state, run))
    steps.append(envfile.keys(name=f"Set the feature flags in {settings.env_file}", path=settings.env_file,
                              current=state.env_file, target=request.env, backup_keep=request.backup_keep,
                              public=public))
    if request.release is not None:
        steps.append(git.checked_out(name=f"Check out release {request.release}", checkout=settings.checkout,
                                     ref=request.release, commit=state.ref_commit, head=state.head))
    stale_code = bool(request.release and state.ref_commit != state.head) or \
        (state.process_started and state.checked_out_at > state.process_started)
    steps.append(service.restarted_when_stale(
        name=f"Restart {settings.service} so the process reads the new flags", unit=settings.unit,
        service=settings.service, project_dir=settings.project_dir, running=state.running, target=expected,
        stale_code=bool(stale_code), ready=http_ok(settings.base_url + "/health", request.health_timeout),
        restore=service.Restore(env_file=settings.env_file, keys=tuple(sorted(request.env)), marker=run.restored_marker),
        public=public))

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
