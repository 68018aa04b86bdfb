"""The vision worker: roll back or enable waves A, B, C and tokens-count, clean up, and prove it.

Specification: runbooks ``000…vision.md`` (flags, cleanup, monitoring) and
``001…vision-e2e.md`` (the smoke test). Entry points: ``deploys/vision_rollback.py``
and ``deploys/vision_enable.py``::

    pyinfra inventories/sandbox.py deploys/vision_rollback.py --data vision_waves=b
"""

from dataclasses import dataclass

import yaml
from pyinfra import host, logger
from pyinfra.api import deploy

from .. import metrics
from ..facts.vision import VisionEffect, VisionHost, VisionSettings
from ..operations import compose, envfile, files, redis, verify
from ..preflight import PreflightError, boolean, choice, flag_value, positive_int, scope
from ..templates import render

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
TARGETS = ("enabled", "rolled_back")
GROUP = "vision_workers"

OCR_PRIMARY = 'vision_media_total{reason="ocr_primary"}'
TOKENS = "vision_tokens_estimated_total"
PREPROCESS = "vision_preprocess_total"
LOW_PRIORITY = "vision_low_priority_"
ASSIGNMENTS = "vision_experiment_assignments_total"


@dataclass(frozen=True)
class VisionRequest:
    """What one run must do on one host, validated from its data."""

    target: str  # enabled | rolled_back
    waves: tuple[str, ...]
    env: dict[str, str]  # the values this run converges (its waves' keys and the PoC flag)
    experiments: dict[str, dict]  # experiment entries of this run's waves
    settings: VisionSettings
    environment: str
    ignore_experiments: bool
    backup_keep: int
    scan_batch: int
    verify_window: int
    experiment_window: int
    health_timeout: int
    smoke_timeout: int
    saved_dir: str

    @property
    def rolling_back(self) -> bool:
        return self.target == "rolled_back"


def _require(data, key: str):
    value = data.get(key)
    if value is None:
        raise PreflightError(f"missing data key {key} (every key is documented in group_data/all.py)")
    return value


def _wave_values(data, key: str, waves) -> dict[str, str]:
    table = _require(data, key)
    values = {}
    for wave in waves:
        for flag, value in (table.get(wave) or {}).items():
            if flag not in WAVES[wave]:
                raise PreflightError(f"{key}[{wave}]: {flag} is not a wave {wave} flag")
            values[flag] = flag_value(value, WAVES[wave][flag], f"{key}[{wave}][{flag}]")
    return values


def request_from(data, target: str) -> VisionRequest:
    """Validate ``data`` (host data) for a run to ``target``; raise PreflightError naming the bad key."""
    target = choice(target, TARGETS, "target")
    waves = tuple(scope(_require(data, "vision_waves"), tuple(WAVES), "vision_waves"))
    environment = choice(_require(data, "rollbook_environment"), ("sandbox", "staging", "prod"), "rollbook_environment")
    env = _wave_values(data, f"vision_{target}_values", waves)
    env[POC_KEY] = flag_value(_require(data, "vision_compression_poc"), bool, "vision_compression_poc")
    if environment == "prod" and env[POC_KEY] == "true":
        raise PreflightError(f"{POC_KEY} stays false in prod: vision_compression_poc=true refused")
    enabled_experiments = _require(data, "vision_experiments")
    experiments = {}
    for wave in waves:
        if wave in EXPERIMENT_OF:
            name = EXPERIMENT_OF[wave]
            if target == "enabled" and not isinstance(enabled_experiments.get(name), dict):
                raise PreflightError(f"vision_experiments has no entry {name}")
            experiments[name] = dict(CONTROL) if target == "rolled_back" else dict(enabled_experiments[name])
    enabled_values = _wave_values(data, "vision_enabled_values", ("b", "c"))
    settings = VisionSettings(
        env_file=str(_require(data, "vision_env_file")),
        project_dir=str(_require(data, "vision_project_dir")),
        service=str(_require(data, "vision_service")),
        experiments_file=str(_require(data, "vision_experiments_file")),
        metrics_url=str(_require(data, "vision_metrics_url")).rstrip("/"),
        phash_prefix=enabled_values["VISION_PHASH_REDIS_PREFIX"],
        low_stream=enabled_values["VISION_LOW_PRIORITY_STREAM"],
        keys=MANAGED_KEYS,
    )
    return VisionRequest(
        target=target, waves=waves, env=env, experiments=experiments, settings=settings,
        environment=environment,
        ignore_experiments=boolean(_require(data, "vision_ignore_experiments"), "vision_ignore_experiments"),
        backup_keep=positive_int(_require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
        scan_batch=positive_int(_require(data, "vision_scan_batch"), "vision_scan_batch"),
        verify_window=positive_int(_require(data, "vision_verify_window"), "vision_verify_window"),
        experiment_window=positive_int(_require(data, "vision_experiment_window"), "vision_experiment_window"),
        health_timeout=positive_int(_require(data, "vision_health_timeout"), "vision_health_timeout"),
        smoke_timeout=positive_int(_require(data, "vision_smoke_timeout"), "vision_smoke_timeout"),
        saved_dir=str(_require(data, "vision_saved_dir")),
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
    """This run's experiments whose assignment counter rose between the two scrapes."""
    return [name for name in request.experiments
            if metrics.delta(baseline, later, f'{ASSIGNMENTS}{{wave="{name}"}}') > 0]


def expected_container_env(file_values: dict[str, str], request: VisionRequest) -> dict[str, str]:
    """What the running worker must hold: the env file as this run leaves it, for every managed key."""
    return {key: request.env.get(key, file_values.get(key)) for key in MANAGED_KEYS
            if key in request.env or key in file_values}


def judge(request: VisionRequest, expected: dict[str, str]):
    """The checks of a run's effect (a function of the observation, for ``verify.verified``)."""

    def checks(seen) -> list[tuple[bool, str]]:
        window = request.verify_window
        result = []
        running = seen.container or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result.append((seen.container is not None and not wrong,
                       f"worker environment holds the {len(expected)} target values"
                       if not wrong else f"worker environment differs: {', '.join(wrong)}"))
        result.append((seen.health == 200, f"worker /health answers {seen.health}"))
        moving = {"a": PREPROCESS, "b": OCR_PRIMARY, "tokens": TOKENS}
        for wave, counter in moving.items():
            if wave not in request.waves:
                continue
            total = metrics.moved(seen.first, seen.second, counter)
            if request.rolling_back:
                result.append((total == 0, f"{counter} flat over {window}s (+{total:g})"))
            else:
                result.append((total > 0, f"{counter} moving over {window}s (+{total:g})"))
        if "c" in request.waves and request.rolling_back:
            low = {name: value for name, value in metrics.matching(seen.second, LOW_PRIORITY).items() if value}
            result.append((not low, "vision_low_priority_* at zero" if not low else f"vision_low_priority_* not zero: {low}"))
        if not request.rolling_back:
            result.append((bool(seen.smoke_processed) and seen.smoke_pending == 0,
                           f"smoke event processed into post_enrichment: {seen.smoke_processed}, "
                           f"pending in the consumer group: {seen.smoke_pending}"))
        return result

    return checks


@deploy("vision")
def vision(target: str):
    """
    Converge the vision worker to ``target`` (``enabled`` or ``rolled_back``) for the waves in
    ``vision_waves``: env flags, experiments, worker recreate, cleanup, verification.

    Example:

    .. code:: python

        from rollbook.systems.vision import vision
        vision(target="rolled_back")
    """
    if GROUP not in host.groups:
        return  # other systems' hosts in the same inventory
    request = request_from(host.data, target)
    settings = request.settings
    state = host.get_fact(VisionHost, settings=settings,
                          window=request.experiment_window if request.rolling_back else 0)
    if state.env_file is None:
        raise PreflightError(f"{host.name}: {settings.env_file} not found")
    new_experiments = experiments_text(state.experiments, request, f"{host.name}:{settings.experiments_file}")
    if request.rolling_back:
        active = active_experiments(state.baseline, state.later, request)
        if active:
            logger.warning(f"{host.print_prefix}active experiment(s) {', '.join(active)}: "
                           f"{ASSIGNMENTS} rose over {request.experiment_window}s")
            if request.environment == "prod" and not request.ignore_experiments:
                raise PreflightError(f"{host.name}: active experiment(s) {', '.join(active)}; "
                                     "refusing in prod without --data vision_ignore_experiments=true")
    if state.redis_error:
        logger.warning(f"{host.print_prefix}{state.redis_error}")
    expected = expected_container_env(state.env_file, request)

    envfile.keys(name=f"Set the vision flags in {settings.env_file}", path=settings.env_file,
                 current=state.env_file, target=request.env, backup_keep=request.backup_keep)
    files.content(name=f"Set the experiments in {settings.experiments_file}", path=settings.experiments_file,
                  current=state.experiments, text=new_experiments, backup_keep=request.backup_keep)
    compose.recreated_when_env_differs(name=f"Recreate the {settings.service} so it re-reads env_file",
                                       project_dir=settings.project_dir, service=settings.service,
                                       running=state.container, target=expected)
    if request.rolling_back and "b" in request.waves:
        redis.keys_deleted(name=f"Delete the phash keys {settings.phash_prefix}:* (SCAN + UNLINK)",
                           env_file=settings.env_file, pattern=f"{settings.phash_prefix}:*",
                           count=state.phash_keys, batch=request.scan_batch)
    if request.rolling_back and "c" in request.waves:
        redis.stream_emptied(name=f"Save and trim {settings.low_stream} to 0", env_file=settings.env_file,
                             stream=settings.low_stream, length=state.low_stream_length,
                             save_dir=request.saved_dir)
    verify.verified(
        name=f"Verify vision {target.replace('_', ' ')} (waves {','.join(request.waves)})",
        what=f"vision {target.replace('_', ' ')}",
        fact=VisionEffect,
        fact_kwargs=dict(settings=settings, window=request.verify_window, health_timeout=request.health_timeout,
                         smoke=not request.rolling_back, smoke_timeout=request.smoke_timeout),
        judge=judge(request, expected),
    )
