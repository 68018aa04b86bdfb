"""The vision ``@deploy``: preflight from host data, one state fact, the flag, experiment and
recreate steps, the verification, the cleanups, the record (see the package docstring)."""

from pyinfra import host, logger
from pyinfra.api import deploy

from ... import pipeline
from ...host import envfile, files, postgres, redis, s3, service, verify
from ...host.shell import http_ok
from .checks import ASSIGNMENTS, active_experiments, judge, judge_cleanup
from .cleanups import s3_cache_count, strip_context_sql
from .facts import VisionEffect, VisionHost
from .request import (GROUP, SYSTEM, desired_state, expected_container_env, experiments_text, request_from,
                      scope_of)


@deploy("vision")
def vision(target: str | None = None):
    """
    Converge the vision worker: with ``target`` (``enabled`` or ``rolled_back``) the waves in
    ``vision_waves``; without, every wave to its recorded state (declared state where none).
    Env flags, experiments, worker recreate, cleanup, verification, history.

    Example:

    .. code:: python

        from rollbook.systems.vision import vision
        vision(target="rolled_back")      # deploys/vision_rollback.py
        vision()                          # deploys/converge.py
    """
    if GROUP not in host.groups:
        return  # other systems' hosts in the same inventory
    pipeline.preflight()  # unknown keys, security overrides, types: before any host command
    data = host.data
    desired, from_record = desired_state(data, target, {})
    request = request_from(data, desired, options=target == "rolled_back")  # bad input fails here
    settings = request.settings
    scope_data = scope_of(data) if target is not None else {}
    state = host.get_fact(VisionHost, settings=settings, recorded_file=f"{pipeline.state_dir()}/state.json",
                          window=request.experiment_window if target != "enabled" else 0,
                          count_context=request.strip_context, timeouts=request.timeouts)
    if target is None:
        desired, from_record = desired_state(data, None, state.recorded)
        request = request_from(data, desired, options=False)
        scope_data = {"vision_desired": ",".join(f"{w}={s}" for w, s in desired.items())}
    run = pipeline.begin(SYSTEM, kind=pipeline.run_kind(target, data), scope=scope_data, units_before=state.recorded,
                         units_after=dict(request.desired),
                         from_record=target is None and from_record)
    if state.env_file is None:
        pipeline.refuse(run, f"{settings.env_file} not found")
    new_experiments = experiments_text(state.experiments, request, f"{host.name}:{settings.experiments_file}")
    active = active_experiments(state.baseline, state.later, request)
    if active:
        logger.warning(f"{host.print_prefix}active experiment(s) {', '.join(active)}: "
                       f"{ASSIGNMENTS} rose over {request.experiment_window}s")
        if request.environment == "prod" and not request.ignore_experiments:
            pipeline.refuse(run, f"active experiment(s) {', '.join(active)}; refusing in prod without "
                                 "--data vision_ignore_experiments=true")
    if state.redis_error:
        logger.warning(f"{host.print_prefix}{state.redis_error}")
    expected = expected_container_env(state.env_file, request)
    public = envfile.public_keys(data, settings.keys)  # vision's flags, plus rollbook_public_env_keys
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, request.env), public)
    run.baseline = state.baseline

    steps = [
        envfile.keys(name=f"Set the vision flags in {settings.env_file}", path=settings.env_file,
                     current=state.env_file, target=request.env, backup_keep=request.backup_keep, public=public),
        files.content(name=f"Set the experiments in {settings.experiments_file}", path=settings.experiments_file,
                      current=state.experiments, text=new_experiments, backup_keep=request.backup_keep),
        service.restarted_when_stale(
            name=f"Recreate the {settings.service} so it re-reads env_file", unit="compose", service=settings.service,
            project_dir=settings.project_dir, running=state.container, target=expected,
            ready=http_ok(settings.metrics_url + "/health", request.health_timeout),
            restore=service.Restore(env_file=settings.env_file, keys=tuple(sorted(request.env)),
                                    marker=run.restored_marker), public=public),
    ]
    verify.verified(  # the effect first: a cleanup that fails later leaves a verified, recorded state
        name="Verify the vision worker's state", what=f"vision {request.describe()}", fact=VisionEffect,
        fact_kwargs=dict(settings=settings, window=request.verify_window, health_timeout=request.health_timeout,
                         timeouts=request.timeouts,
                         smoke=bool(request.enabled), smoke_timeout=request.smoke_timeout),
        judge=judge(request, expected), system=SYSTEM,
    )
    limits = request.timeouts
    if "b" in request.rolled_back:
        steps.append(redis.keys_deleted(name=f"Delete the phash keys {settings.phash_prefix}:* (SCAN + UNLINK)",
                                        env_file=settings.env_file, pattern=f"{settings.phash_prefix}:*",
                                        count=state.phash_keys, batch=request.scan_batch, timeouts=limits))
        run.cleanup["phash_keys_deleted"] = state.phash_keys
    if "c" in request.rolled_back:
        steps.append(redis.stream_emptied(name=f"Save and trim {settings.low_stream} to 0", env_file=settings.env_file,
                                          stream=settings.low_stream, length=state.low_stream_length,
                                          save_dir=request.saved_dir, timeouts=limits, batch=request.scan_batch))
        run.cleanup["low_stream_entries_saved_and_trimmed"] = state.low_stream_length
    if "c" in request.rolled_back and state.low_stream_length != 0:  # a stream read empty needs no second look
        verify.verified(
            name=f"Verify {settings.low_stream} is empty and the worker's backlog at zero",
            what="vision wave c cleanup", fact=VisionEffect,
            fact_kwargs=dict(settings=settings, window=1, health_timeout=request.health_timeout,
                             timeouts=request.timeouts),
            judge=judge_cleanup, system=SYSTEM,
        )
    if request.strip_context:
        table = f"post_enrichment_context_backup_{run.run_id.lower().replace('-', '_')}"
        steps.append(postgres.script(
            name="Save and strip analysis.context from post_enrichment", env_file=settings.env_file,
            url_key="DATABASE_URL", sql=strip_context_sql(table), needed=state.context_rows != 0,
            what="stripping analysis.context", timeouts=limits,
            summary=[f"post_enrichment: save analysis.context of "
                     f"{'the' if state.context_rows is None else state.context_rows} row(s) into {table}, "
                     "then remove it"]))
        run.cleanup["context_rows_saved_and_stripped"] = state.context_rows
    if request.purge_s3:
        count = s3_cache_count(request.purge_s3)
        steps.append(s3.cache_purged(name="Save and delete the vision S3 result cache", target=request.purge_s3,
                                         count=count, saved_prefix=f"rollbook-saved/{run.run_id}/", _run_once=True))
        run.cleanup["s3_cache_objects_saved_and_deleted"] = count
    pipeline.finish(run, changed=any(step.will_change for step in steps))
