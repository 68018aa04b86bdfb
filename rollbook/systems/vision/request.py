"""The vision request: what one run must do on one host, validated from its host data.

``scope_of`` (what an approval binds), ``desired_state`` (the state per wave a run converges) and
``request_from`` (data -> ``VisionRequest``; PreflightError names the bad key), and the desired
state of the files and the worker: ``experiments_text``, ``expected_container_env``.
"""

import copy
from dataclasses import dataclass

import yaml

from ...host import s3
from ...host.timeouts import Timeouts, timeouts_of
from ...preflight import PreflightError, boolean, choice, flag_value, positive_int, require, scope
from ...secrets import secret
from ...templates import render
from .facts import VisionSettings
from ...pipeline.stages import to_record

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
    target: str | None = None  # enabled | rolled_back; None: a converge run to the recorded state
    from_record: bool = False  # every wave converges to the host's recorded state

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
    None) converges every wave to its recorded state; a wave with no record to its declared state
    only where ``rollbook_converge_declared`` allows it (else it is left alone).
    """
    if target is not None:
        target = choice(target, STATES, "target")
        return {wave: target for wave in scope(require(data, "vision_waves"), tuple(WAVES), "vision_waves")}, False
    return to_record(data, recorded, WAVES, lambda: declared_state(data))


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


def expected_container_env(file_values: dict[str, str], request: VisionRequest) -> dict[str, str]:
    """What the running worker must hold: the env file as this run leaves it, for every managed key."""
    return {key: request.env.get(key, file_values.get(key)) for key in MANAGED_KEYS
            if key in request.env or key in file_values}
