"""The analyticbot API's stages (runbook 004), run by ``rollbook.pipeline.run``: the feature flags, and on
request migration 004 (applied before the flags change, rolled back after the verify) and a release checkout."""

from dataclasses import replace
from datetime import datetime, timezone
from io import StringIO

from pyinfra import host, logger

from ...host import envfile, git, postgres, service, uploads, verify
from ...host.shell import http_ok
from ...host.timeouts import timeouts_of
from ...pipeline.record import connector_arguments
from ...pipeline import Context, Stage, Stages
from ...core.secrets import secret
from .checks import DECISIONS, judge
from .facts import BACKUP_PREFIX, MIGRATION_INDEXES, AnalyticbotEffect, AnalyticbotHost
from .migration import apply_sql, restore_sql, rollback_sql, save_sql
from .request import FLAG_OF, GROUP, SYSTEM, AnalyticbotRequest, desired_state, effective, request_from, scope_of


class AnalyticbotStages(Stages):
    name, group, desired_key, bound = SYSTEM, GROUP, "analyticbot_desired", staticmethod(scope_of)

    def request(self, settings, target, recorded) -> AnalyticbotRequest:
        desired, from_record = desired_state(settings, target, recorded or {})
        made = request_from(settings, desired, converge=target is None)
        token = secret(settings.analyticbot_token_secret, settings, "the API token for the best-times check")
        return replace(made, target=target, from_record=from_record, token=token)

    def inspect(self, request: AnalyticbotRequest, settings):
        return host.get_fact(AnalyticbotHost, settings=request.settings,
                             recorded_file=f"{settings.rollbook_state_dir}/state.json", ref=request.release,
                             migration=request.migration is not None, timeouts=timeouts_of(settings))

    def differing(self, ctx: Context) -> list[str]:
        """The units whose flag (in the env file or the running process) differs from its target."""
        expected, held = _expected(ctx), (ctx.state.env_file or {}, ctx.state.running or {})
        return [unit for unit in ctx.request.desired
                if any(values.get(FLAG_OF[unit]) != expected.get(FLAG_OF[unit]) for values in held)]

    def refusal(self, ctx: Context) -> str:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        if refused := envfile.refusal(settings.env_file, state.env_file, state.misshapen):
            return refused
        if request.release is not None:
            if not state.ref_commit:
                return f"unknown git ref {request.release!r} in {settings.checkout}"
            if state.dirty:
                return f"{settings.checkout} has {state.dirty} changed file(s): commit or discard them first"
        if request.migration and not state.has_database_url:
            return (f"migration {request.migration} requested without a database URL: "
                    f"{settings.database_url_key} is not in {settings.env_file}")
        if request.migration == "rollback" and effective(_expected(ctx))["content_type"]:
            return ("migration 004 rollback needs content-type analysis off: roll back "
                    "analyticbot_features=all or content_type in the same run")
        if request.migration:
            migration = state.migration
            if migration.error:
                return f"migration 004: {migration.error}"
            saved = settings.migration_saved_columns
            columns = set(saved) & migration.columns
            if 0 < len(columns) < len(saved):
                return f"posts has only {', '.join(sorted(columns))} of migration 004's columns: fix by hand"
            if settings.migration_sql == "file" and not migration.files.get(request.migration):
                return (f"migration 004 {request.migration}: {settings.migration_file(request.migration)} not found "
                        f"in the checkout (set analyticbot_migration_{request.migration}_file, or "
                        "analyticbot_migration_sql=rollbook for rollbook's own statements)")
        return ""

    def converge(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        public = envfile.public_keys(ctx.settings, settings.keys)
        # migration 004 apply first: the columns exist before the API may use them
        stage = _migration(ctx) if request.migration == "apply" else Stage()
        stage.changes = envfile.describe(envfile.plan_changes(state.env_file, request.env), public)
        stage.steps.append(envfile.keys(
            name=f"Set the feature flags in {settings.env_file}", path=settings.env_file, current=state.env_file,
            target=request.env, backup_keep=ctx.settings.rollbook_backup_keep, public=public,
            root=_app_folder(settings)))
        if request.release is not None:
            stage.steps.append(git.checked_out(
                name=f"Check out release {request.release}", checkout=settings.checkout, ref=request.release,
                commit=state.ref_commit, head=state.head))
        return stage

    def logs(self, ctx: Context):
        settings = ctx.request.settings
        return service.log_tail_command(settings.unit, settings.service, settings.project_dir, settings.env_file,
                                        envfile.public_keys(ctx.settings, settings.keys))

    def apply(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        stale_code = bool(request.release and state.ref_commit != state.head) or \
            (state.process_started and state.checked_out_at > state.process_started)
        return Stage(steps=[service.restarted_when_stale(
            name=f"Restart {settings.service} so the process reads the new flags", unit=settings.unit,
            service=settings.service, project_dir=settings.project_dir, running=state.running,
            target=_expected(ctx), stale_code=bool(stale_code),
            ready=http_ok(settings.base_url + settings.health_path, ctx.settings.analyticbot_health_timeout,
                          "analyticbot_health_path (or analyticbot_base_url)"),
            restore=service.Restore.of_run(ctx.run, settings.env_file, request.env),
            public=envfile.public_keys(ctx.settings, settings.keys))])

    def verify(self, ctx: Context) -> None:
        _verified(ctx, "Verify the analyticbot API's state", f"analyticbot {ctx.request.describe()}")

    def cleanup(self, ctx: Context) -> Stage:
        if ctx.request.migration != "rollback":
            return Stage()
        # migration 004 rollback: once the API no longer reads the columns, and is verified; then the API
        # is verified again on the table without them (it must still answer, the fields still as set)
        stage = _migration(ctx)
        if set(ctx.request.settings.migration_saved_columns) & ctx.state.migration.columns:  # the DROP will run
            _verified(ctx, "Verify the analyticbot API after migration 004's rollback",
                      f"analyticbot {ctx.request.describe()} after migration 004 rollback")
        return stage


def _verified(ctx: Context, name: str, what: str):
    """The API's effect (``verify.verified``), with the operator's token uploaded to a 0700 folder just
    before and removed by the observation."""
    request, settings = ctx.request, ctx.request.settings
    header_file = f"{ctx.run.private_dir}/{ctx.run.run_id}-analyticbot.header"

    def upload_token():
        host.put_file(StringIO(f"Authorization: Bearer {request.token}\n"), header_file,
                      remote_temp_filename=uploads.staging_path(), **connector_arguments(host))

    verify.verified(
        name=name, what=what, fact=AnalyticbotEffect, before=upload_token,
        fact_kwargs=dict(settings=settings, header_file=header_file, channel=ctx.settings.analyticbot_channel,
                         days=ctx.settings.analyticbot_days, health_timeout=ctx.settings.analyticbot_health_timeout,
                         release=request.release is not None),
        judge=judge(request, _expected(ctx)), system=SYSTEM, decisions=DECISIONS)


def _app_folder(settings) -> str:
    """The app folder (compose project or checkout) that holds the env file (the settings model checked one does)."""
    env = settings.env_file
    return next((folder for folder in (settings.project_dir, settings.checkout)
                 if env.startswith(folder.rstrip("/") + "/")), settings.checkout)


def _expected(ctx: Context) -> dict[str, str]:
    """The flags the running process must hold after the run (the env file's, where the run sets none)."""
    return {key: ctx.request.env.get(key, ctx.state.env_file.get(key)) for key in FLAG_OF.values()}


def _migration(ctx: Context) -> Stage:
    """Migration 004 as requested: save and roll back, or apply and restore (each only when needed) — the
    checkout's own file (its sha256 in the plan), or rollbook's statements when asked for by name. The
    host's refusal (``refusal``) has ruled out an unreadable or half-migrated table and a missing file."""
    request, migration, settings = ctx.request, ctx.state.migration, ctx.request.settings
    saved = settings.migration_saved_columns
    columns, action = set(saved) & migration.columns, request.migration
    file = migration.files.get(action) if settings.migration_sql == "file" else None
    runs = (f"run {settings.migration_file(action)} (sha256 {file.sha256}"
            f"{', its own transactions' if file.own_transaction else ', in one transaction'})" if file
            else f"run rollbook's own migration 004 {action} statements")
    if action == "rollback":
        backup_table = BACKUP_PREFIX + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ").lower()
        needed = bool(columns)
        sql = save_sql(backup_table, saved) if file else rollback_sql(backup_table, saved)
        then = ""
        name = f"Migration 004 rollback: save (id, {', '.join(saved)}), then drop them"
        summary = [f"posts: save {migration.rows} rows of (id, {', '.join(saved)}) into {backup_table}",
                   f"posts: {runs}"]
        cleanup = {"migration_004": "rolled back", "rows_saved": migration.rows, "backup_table": backup_table}
    else:
        needed = bool(not columns or (not file and set(MIGRATION_INDEXES) - migration.indexes))
        sql, then = ("", restore_sql(migration.newest_backup, saved)) if file else (
            apply_sql(migration.newest_backup, saved), "")
        if needed and not columns and not migration.newest_backup:
            logger.warning(f"{host.print_prefix}no {BACKUP_PREFIX}* table: {', '.join(saved)} start as their default")
        name = "Migration 004 apply: re-create the columns, restore their values from the newest backup"
        summary = [f"posts: {runs}", f"posts: restore values from {migration.newest_backup or '(no backup table)'}"]
        cleanup = {"migration_004": "applied", "restored_from": migration.newest_backup or "none"}
    step = postgres.script(name=name, env_file=settings.env_file, url_key=settings.database_url_key, sql=sql,
                           needed=needed, what=f"migration 004 {action}", timeouts=timeouts_of(ctx.settings),
                           summary=summary, file=settings.migration_file(action) if file else "",
                           sha256=file.sha256 if file else "", then=then,
                           wrapped=not (file and file.own_transaction))
    # the plan binds what runs (the file's sha256), never the row count or the backup table's stamp
    return Stage(steps=[step], changes=[f"migration 004 {action}: {runs}"] if needed else [],
                 cleanup=cleanup if needed else {})


ANALYTICBOT = AnalyticbotStages()
