"""The vision worker's stages (runbooks 000 and 001), run by ``rollbook.pipeline.run``: the wave flags and
experiments, then a rolled-back wave's cleanup (phash keys, the low-priority stream, on request
analysis.context and the S3 result cache, each saved first)."""

from dataclasses import replace

import yaml
from pyinfra import host, logger

from ...host import envfile, files, postgres, redis, s3, service, verify
from ...host.shell import http_ok
from ...host.timeouts import timeouts_of
from ...pipeline import Context, Stage, Stages
from .checks import DECISIONS, active_experiments, judge, judge_cleanup
from .cleanups import CACHE, s3_cache_count, strip_context_sql
from .facts import VisionEffect, VisionHost
from .request import (EXPERIMENT_OF, GROUP, SYSTEM, WAVES, VisionRequest, desired_state, expected_container_env, experiments_text, request_from, scope_of)


class VisionStages(Stages):
    name, group, desired_key, bound = SYSTEM, GROUP, "vision_desired", staticmethod(scope_of)

    def request(self, settings, target, recorded) -> VisionRequest:
        desired, from_record = desired_state(settings, target, recorded or {})
        made = request_from(settings, desired, options=target == "rolled_back")
        return replace(made, target=target, from_record=from_record)

    def inspect(self, request: VisionRequest, settings):
        return host.get_fact(VisionHost, settings=request.settings,
                             recorded_file=f"{settings.rollbook_state_dir}/state.json",
                             window=settings.vision_experiment_window if request.target != "enabled" else 0,
                             count_context=request.strip_context, timeouts=timeouts_of(settings))

    def differing(self, ctx: Context) -> list[str]:
        """The waves whose flags (in .env or the running worker) or experiment entry differ from their target."""
        request, state = ctx.request, ctx.state
        held = (state.env_file or {}, state.container or {})
        entries = yaml.safe_load(state.experiments or "") or {}  # a mapping: ``refusal`` refuses any other file
        return [wave for wave in request.desired
                if any(values.get(key) != request.env[key] for values in held for key in WAVES[wave]
                       if key in request.env)
                or (EXPERIMENT_OF.get(wave) in request.experiments
                    and entries.get(EXPERIMENT_OF[wave]) != request.experiments[EXPERIMENT_OF[wave]])]

    def refusal(self, ctx: Context) -> str:
        request, state = ctx.request, ctx.state
        if refused := envfile.refusal(request.settings.env_file, state.env_file, state.misshapen):
            return refused
        experiments_text(state.experiments, request, f"{host.name}:{request.settings.experiments_file}")
        active = active_experiments(state.baseline, state.later, request)
        if active:
            logger.warning(f"{host.print_prefix}active experiment(s) {', '.join(active)}: "
                           f"{request.counters.counter_assignments} rose over {ctx.settings.vision_experiment_window}s")
            if ctx.settings.rollbook_environment == "prod" and not ctx.settings.vision_ignore_experiments:
                return (f"active experiment(s) {', '.join(active)}; refusing in prod without "
                        "--data vision_ignore_experiments=true")
        if state.redis_error:
            logger.warning(f"{host.print_prefix}{state.redis_error}")
        return ""

    def baseline(self, ctx: Context) -> dict:
        return ctx.state.baseline or {}

    def converge(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        public = envfile.public_keys(ctx.settings, settings.keys)
        return Stage(
            steps=[
                envfile.keys(name=f"Set the vision flags in {settings.env_file}", path=settings.env_file,
                             current=state.env_file, target=request.env, backup_keep=ctx.settings.rollbook_backup_keep,
                             public=public, root=settings.project_dir),
                files.content(name=f"Set the experiments in {settings.experiments_file}",
                              path=settings.experiments_file, current=state.experiments,
                              text=experiments_text(state.experiments, request, settings.experiments_file),
                              backup_keep=ctx.settings.rollbook_backup_keep, root=settings.project_dir),
            ],
            changes=envfile.describe(envfile.plan_changes(state.env_file, request.env), public))

    def logs(self, ctx: Context):
        settings = ctx.request.settings
        return service.log_tail_command("compose", settings.service, settings.project_dir, settings.env_file,
                                        envfile.public_keys(ctx.settings, settings.keys))

    def apply(self, ctx: Context) -> Stage:
        request, settings = ctx.request, ctx.request.settings
        return Stage(steps=[service.restarted_when_stale(
            name=f"Recreate the {settings.service} so it re-reads env_file", unit="compose",
            service=settings.service, project_dir=settings.project_dir, running=ctx.state.container,
            target=expected_container_env(ctx.state.env_file, request),
            ready=http_ok(settings.ready_url, ctx.settings.vision_health_timeout, settings.ready_setting),
            restore=service.Restore.of_run(ctx.run, settings.env_file, request.env),
            public=envfile.public_keys(ctx.settings, settings.keys))])

    def verify(self, ctx: Context) -> None:
        request, settings = ctx.request, ctx.request.settings
        verify.verified(
            name="Verify the vision worker's state", what=f"vision {request.describe()}", fact=VisionEffect,
            fact_kwargs=dict(settings=settings, window=request.verify_window,
                             health_timeout=ctx.settings.vision_health_timeout, timeouts=timeouts_of(ctx.settings),
                             smoke=ctx.settings.vision_probe, smoke_timeout=ctx.settings.vision_smoke_timeout),
            judge=judge(request, expected_container_env(ctx.state.env_file, request)), system=SYSTEM,
            accept_unproven=ctx.settings.vision_accept_unproven, decisions=DECISIONS)

    def cleanup(self, ctx: Context) -> Stage:
        request, state, settings, limits = ctx.request, ctx.state, ctx.request.settings, timeouts_of(ctx.settings)
        stage = Stage()
        if "b" in request.rolled_back:
            stage.steps.append(redis.keys_deleted(
                name=f"Delete the phash keys {settings.phash_prefix}:* (SCAN + UNLINK)", env_file=settings.env_file,
                pattern=f"{settings.phash_prefix}:*", count=state.phash_keys, batch=ctx.settings.vision_scan_batch,
                timeouts=limits))
            stage.cleanup["phash_keys_deleted"] = state.phash_keys
        if "c" in request.rolled_back:
            stage.steps.append(redis.stream_emptied(
                name=f"Save and trim {settings.low_stream} to 0", env_file=settings.env_file,
                stream=settings.low_stream, length=state.low_stream_length, save_dir=ctx.settings.vision_saved_dir,
                timeouts=limits, batch=ctx.settings.vision_scan_batch))
            stage.cleanup["low_stream_entries_saved_and_trimmed"] = state.low_stream_length
        if "c" in request.rolled_back and state.low_stream_length != 0:  # an empty stream needs no second look
            verify.verified(
                name=f"Verify {settings.low_stream} is empty and the worker's backlog at zero",
                what="vision wave c cleanup", fact=VisionEffect,
                fact_kwargs=dict(settings=settings, window=1, health_timeout=ctx.settings.vision_health_timeout,
                                 timeouts=limits),
                judge=judge_cleanup(request), system=SYSTEM, decisions=DECISIONS)
        if request.strip_context:
            table = f"post_enrichment_context_backup_{ctx.run.run_id.lower().replace('-', '_')}"
            stage.steps.append(postgres.script(
                name="Save and strip analysis.context from post_enrichment", env_file=settings.env_file,
                url_key="DATABASE_URL", sql=strip_context_sql(table), needed=state.context_rows != 0,
                what="stripping analysis.context", timeouts=limits,
                summary=[f"post_enrichment: save analysis.context of "
                         f"{'the' if state.context_rows is None else state.context_rows} row(s) into {table}, "
                         "then remove it"]))
            stage.cleanup["context_rows_saved_and_stripped"] = state.context_rows
        if request.purge_s3:
            count = s3_cache_count(request.purge_s3)
            stage.steps.append(s3.objects_purged(
                name="Save and delete the vision S3 result cache", target=request.purge_s3, objects=CACHE, count=count,
                saved_prefix=f"rollbook-saved/{ctx.run.run_id}/", _run_once=True))
            stage.cleanup["s3_cache_objects_saved_and_deleted"] = count
        return stage


VISION = VisionStages()
