"""The vision worker: roll back or enable waves A, B, C and tokens-count, clean up, and prove it.

Specification: runbooks ``000…vision.md`` (flags, cleanup, monitoring) and
``001…vision-e2e.md`` (the smoke test). Entry points: ``deploys/vision_rollback.py``
and ``deploys/vision_enable.py``::

    pyinfra inventories/sandbox.py deploys/vision_rollback.py --data vision_waves=b
"""

import copy
from dataclasses import dataclass

import yaml
from pyinfra import host, logger
from pyinfra.api import deploy

from .. import envfile, metrics, pipeline, s3
from ..facts.vision import VisionEffect, VisionHost, VisionSettings
from ..operations import files, postgres, redis, service, verify
from ..operations import s3 as s3_ops
from ..operations import envfile as env_ops
from ..preflight import PreflightError, boolean, choice, flag_value, positive_int, require, scope
from ..secrets import secret
from ..shell import http_ok
from ..templates import render
from ..timeouts import Timeouts, timeouts_of

# The runbook's flag table: wave -> {key: kind}. Values live in group data.
WAVES = {
    "a": {"VISION_PREPROCESS_ENABLED": bool, "VISION_PREPROCESS_GRAYSCALE": bool, "VISION_MAX_OUTPUT_TOKENS": int},
    "b": {"VISION_LOCAL_OCR_PRIMARY_ENABLED": bool, "VISION_PHASH_ENABLED": bool, "VISION_PHASH_REDIS_PREFIX": str},
    "c": {"VISION_ROI_CROP_ENABLED": bool, "VISION_LOW_PRIORITY_QUEUE_ENABLED": bool,
          "VISION_LOW_PRIORITY_STREAM": str},
    "tokens": {"VISION_TOKENS_COUNT_ENABLED": bool},
}
POC_KEY = "FEATURE_VISION_COMPRESSION_POC"
MANAGED_KEYS = tuple(sorted({key for keys in WAVES.values() for key in keys} | {POC_KEY}))
EXPERIMENT_OF = {"a": "wave_a", "b": "wave_b", "c": "wave_c"}
CONTROL = {"enabled": False, "default_variant": "control", "force_tenants": []}
STATES = ("enabled", "rolled_back")
SYSTEM = "vision"
GROUP = "vision_workers"

OCR_PRIMARY = 'vision_media_total{reason="ocr_primary"}'
TOKENS = "vision_tokens_estimated_total"
PREPROCESS = "vision_preprocess_total"
LOW_PRIORITY = "vision_low_priority_"
ASSIGNMENTS = "vision_experiment_assignments_total"


@dataclass(frozen=True)
class VisionRequest:
    """What one run must do on one host, validated from its data."""

    desired: dict[str, str]  # wave -> enabled | rolled_back, for the waves this run converges
    env: dict[str, str]  # the values this run converges (its waves' keys and the PoC flag)
    experiments: dict[str, dict]  # experiment entries of this run's waves
    settings: VisionSettings
    environment: str
    ignore_experiments: bool
    backup_keep: int
    scan_batch: int
    timeouts: Timeouts
    verify_window: int
    experiment_window: int
    health_timeout: int
    smoke_timeout: int
    saved_dir: str
    strip_context: bool = False  # rollback option: save, then remove analysis.context from post_enrichment
    purge_s3: s3.S3Target | None = None  # rollback option: save, then delete the S3 result cache

    @property
    def waves(self) -> tuple[str, ...]:
        return tuple(self.desired)

    @property
    def rolled_back(self) -> tuple[str, ...]:
        return tuple(wave for wave, state in self.desired.items() if state == "rolled_back")

    @property
    def enabled(self) -> tuple[str, ...]:
        return tuple(wave for wave, state in self.desired.items() if state == "enabled")

    def describe(self) -> str:
        """``a,b rolled back; c enabled``."""
        parts = [f"{','.join(waves)} {label}" for waves, label in ((self.rolled_back, "rolled back"),
                                                                   (self.enabled, "enabled")) if waves]
        return "; ".join(parts)


def _wave_values(data, key: str, waves) -> dict[str, str]:
    table = require(data, key)
    values = {}
    for wave in waves:
        for flag, value in (table.get(wave) or {}).items():
            if flag not in WAVES[wave]:
                raise PreflightError(f"{key}[{wave}]: {flag} is not a wave {wave} flag")
            values[flag] = flag_value(value, WAVES[wave][flag], f"{key}[{wave}][{flag}]")
    return values


def scope_of(data) -> dict[str, str]:
    """What an approval of a rollback or enable binds: the waves and the options that change what runs."""
    return {
        "vision_waves": ",".join(scope(require(data, "vision_waves"), tuple(WAVES), "vision_waves")),
        "vision_compression_poc": flag_value(require(data, "vision_compression_poc"), bool, "vision_compression_poc"),
        "vision_ignore_experiments": flag_value(require(data, "vision_ignore_experiments"), bool,
                                                "vision_ignore_experiments"),
        "vision_purge_s3_cache": flag_value(require(data, "vision_purge_s3_cache"), bool, "vision_purge_s3_cache"),
        "vision_strip_context": flag_value(require(data, "vision_strip_context"), bool, "vision_strip_context"),
    }


def declared_state(data) -> dict[str, str]:
    declared = require(data, "vision_declared_state")
    return {wave: choice(declared.get(wave, "enabled"), STATES, f"vision_declared_state[{wave}]") for wave in WAVES}


def desired_state(data, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per wave this run converges, and whether all of it comes from the host's record.

    A rollback or enable converges the waves in ``vision_waves``; a converge run (``target``
    None) converges every wave to its recorded state, or its declared one where none is recorded.
    """
    if target is not None:
        target = choice(target, STATES, "target")
        return {wave: target for wave in scope(require(data, "vision_waves"), tuple(WAVES), "vision_waves")}, False
    desired = declared_state(data)
    known = {wave: state for wave, state in recorded.items() if wave in WAVES and state in STATES}
    desired.update(known)
    return desired, set(known) == set(WAVES)


def _s3_target(data) -> s3.S3Target:
    endpoint = data.get("vision_s3_endpoint")
    return s3.S3Target(
        endpoint=str(endpoint) if endpoint else None, bucket=str(require(data, "vision_s3_bucket")),
        region=str(require(data, "vision_s3_region")),
        access_key=secret(str(require(data, "vision_s3_access_key_secret")), data, "purging the S3 cache"),
        secret_key=secret(str(require(data, "vision_s3_secret_key_secret")), data, "purging the S3 cache"))


def request_from(data, desired: dict[str, str], options: bool = True) -> VisionRequest:
    """Validate ``data`` (host data) for a run converging ``desired``; PreflightError names the bad key.

    ``options``: honour the rollback's one-off cleanups (S3 purge, context strip); converge runs don't.
    """
    environment = choice(require(data, "rollbook_environment"), ("sandbox", "staging", "prod"), "rollbook_environment")
    env = {}
    for state in STATES:
        env.update(_wave_values(data, f"vision_{state}_values", [w for w, s in desired.items() if s == state]))
    env[POC_KEY] = flag_value(require(data, "vision_compression_poc"), bool, "vision_compression_poc")
    if environment == "prod" and env[POC_KEY] == "true":
        raise PreflightError(f"{POC_KEY} stays false in prod: vision_compression_poc=true refused")
    enabled_experiments = require(data, "vision_experiments")
    experiments = {}
    for wave, state in desired.items():
        if wave in EXPERIMENT_OF:
            name = EXPERIMENT_OF[wave]
            if state == "enabled" and not isinstance(enabled_experiments.get(name), dict):
                raise PreflightError(f"vision_experiments has no entry {name}")
            experiments[name] = copy.deepcopy(CONTROL if state == "rolled_back" else enabled_experiments[name])
    enabled_values = _wave_values(data, "vision_enabled_values", ("b", "c"))
    settings = VisionSettings(
        env_file=str(require(data, "vision_env_file")),
        project_dir=str(require(data, "vision_project_dir")),
        service=str(require(data, "vision_service")),
        experiments_file=str(require(data, "vision_experiments_file")),
        metrics_url=str(require(data, "vision_metrics_url")).rstrip("/"),
        phash_prefix=enabled_values["VISION_PHASH_REDIS_PREFIX"],
        low_stream=enabled_values["VISION_LOW_PRIORITY_STREAM"],
        keys=MANAGED_KEYS,
    )
    return VisionRequest(
        desired=dict(desired), env=env, experiments=experiments, settings=settings, environment=environment,
        ignore_experiments=boolean(require(data, "vision_ignore_experiments"), "vision_ignore_experiments"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
        scan_batch=positive_int(require(data, "vision_scan_batch"), "vision_scan_batch"),
        timeouts=timeouts_of(data),
        verify_window=positive_int(require(data, "vision_verify_window"), "vision_verify_window"),
        experiment_window=positive_int(require(data, "vision_experiment_window"), "vision_experiment_window"),
        health_timeout=positive_int(require(data, "vision_health_timeout"), "vision_health_timeout"),
        smoke_timeout=positive_int(require(data, "vision_smoke_timeout"), "vision_smoke_timeout"),
        saved_dir=str(require(data, "vision_saved_dir")),
        strip_context=options and boolean(require(data, "vision_strip_context"), "vision_strip_context"),
        purge_s3=_s3_target(data) if options and boolean(require(data, "vision_purge_s3_cache"),
                                                          "vision_purge_s3_cache") else None,
    )


def experiments_text(current: str | None, request: VisionRequest, where: str) -> str:
    """The experiments file after this run: this run's waves replaced, every other entry kept."""
    try:
        entries = yaml.safe_load(current or "") or {}
    except yaml.YAMLError as error:
        raise PreflightError(f"{where} is not valid YAML ({type(error).__name__}); fix it by hand first") from None
    if not isinstance(entries, dict):
        raise PreflightError(f"{where} is not a mapping of experiments; fix it by hand first")
    entries.update(request.experiments)
    return render("vision_experiments.yml.j2", experiments=entries)


def active_experiments(baseline: dict[str, float], later: dict[str, float], request: VisionRequest) -> list[str]:
    """Experiments of the waves being rolled back whose assignment counter rose between the scrapes."""
    names = [EXPERIMENT_OF[wave] for wave in request.rolled_back if wave in EXPERIMENT_OF]
    return [name for name in names if metrics.delta(baseline, later, f'{ASSIGNMENTS}{{wave="{name}"}}') > 0]


def expected_container_env(file_values: dict[str, str], request: VisionRequest) -> dict[str, str]:
    """What the running worker must hold: the env file as this run leaves it, for every managed key."""
    return {key: request.env.get(key, file_values.get(key)) for key in MANAGED_KEYS
            if key in request.env or key in file_values}


MOVING = {"a": PREPROCESS, "b": OCR_PRIMARY, "tokens": TOKENS}  # the counter each wave makes move


def strip_context_sql(backup_table: str) -> str:
    """Save every row's analysis.context, then remove it (one transaction)."""
    return (f"CREATE TABLE {backup_table} AS SELECT post_id, data #> '{{analysis,context}}' AS context "
            "FROM post_enrichment WHERE data -> 'analysis' ? 'context'; "
            "UPDATE post_enrichment SET data = data #- '{analysis,context}' WHERE data -> 'analysis' ? 'context';")


_s3_counts: dict[tuple, int | None] = {}


def _s3_cache_count(target: s3.S3Target) -> int | None:
    """Cached results in the bucket, counted once per run (None: S3 did not answer, said once)."""
    key = (target.endpoint, target.bucket)
    if key not in _s3_counts:
        try:
            _s3_counts[key] = len(s3.cache_keys(target))
        except s3.S3Error as error:
            logger.warning(str(error))
            _s3_counts[key] = None
    return _s3_counts[key]


def judge(request: VisionRequest, expected: dict[str, str]):
    """The checks of a run's effect (a function of the observation, for ``verify.verified``)."""

    def checks(seen) -> list[tuple[bool, str]]:
        window = request.verify_window
        running = seen.container or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result = [
            (seen.container is not None and not wrong,
             f"worker environment holds the {len(expected)} target values" if not wrong
             else f"worker environment differs: {', '.join(wrong)}"),
            (seen.health == 200, f"worker /health answers {seen.health}"),
        ]
        for wave, counter in MOVING.items():
            total = metrics.moved(seen.first, seen.second, counter)
            if wave in request.rolled_back:
                result.append((total == 0, f"{counter} flat over {window}s (+{total:g})"))
            elif wave in request.enabled:
                result.append((total > 0, f"{counter} moving over {window}s (+{total:g})"))
        if request.enabled:
            result.append((bool(seen.smoke_processed) and seen.smoke_pending == 0,
                           f"smoke event processed into post_enrichment: {seen.smoke_processed}, "
                           f"pending in the consumer group: {seen.smoke_pending}"))
        return result

    return checks


def judge_cleanup(seen) -> list[tuple[bool, str]]:
    """After wave C's cleanup: the low-priority counters and backlog at zero."""
    low = {name: value for name, value in metrics.matching(seen.second, LOW_PRIORITY).items() if value}
    return [(not low, "vision_low_priority_* at zero" if not low else f"vision_low_priority_* not zero: {low}")]


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
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, request.env))
    run.baseline = state.baseline

    steps = [
        env_ops.keys(name=f"Set the vision flags in {settings.env_file}", path=settings.env_file,
                     current=state.env_file, target=request.env, backup_keep=request.backup_keep),
        files.content(name=f"Set the experiments in {settings.experiments_file}", path=settings.experiments_file,
                      current=state.experiments, text=new_experiments, backup_keep=request.backup_keep),
        service.restarted_when_stale(
            name=f"Recreate the {settings.service} so it re-reads env_file", unit="compose", service=settings.service,
            project_dir=settings.project_dir, running=state.container, target=expected,
            ready=http_ok(settings.metrics_url + "/health", request.health_timeout),
            restore=service.Restore(env_file=settings.env_file, keys=tuple(sorted(request.env)),
                                    marker=run.restored_marker)),
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
                                          save_dir=request.saved_dir, timeouts=limits))
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
        count = _s3_cache_count(request.purge_s3)
        steps.append(s3_ops.cache_purged(name="Save and delete the vision S3 result cache", target=request.purge_s3,
                                         count=count, saved_prefix=f"rollbook-saved/{run.run_id}/", _run_once=True))
        run.cleanup["s3_cache_objects_saved_and_deleted"] = count
    pipeline.finish(run, changed=any(step.will_change for step in steps))
