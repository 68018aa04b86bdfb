"""The vision request: what one run must do on one host, from its validated settings, and the state it
leaves the experiments file and the worker in (``experiments_text``, ``expected_container_env``)."""

import copy
from dataclasses import dataclass

import yaml

from ...host import s3
from ...core.preflight import PreflightError
from ...core.secrets import secret
from ...core.templates import render
from .facts import VisionPlaces
from ...pipeline.stages import STATES, to_record
from ..settings_types import flag_value, places_of
from .settings import WAVES, VisionSettings  # noqa: F401 (VisionSettings: the doctest's)
POC_KEY = "FEATURE_VISION_COMPRESSION_POC"
MANAGED_KEYS = tuple(sorted({key for keys in WAVES.values() for key in keys} | {POC_KEY}))
EXPERIMENT_OF = {"a": "wave_a", "b": "wave_b", "c": "wave_c"}
CONTROL = {"enabled": False, "default_variant": "control", "force_tenants": []}
SYSTEM, GROUP = "vision", "vision_workers"


@dataclass(frozen=True)
class VisionCounters:
    """The series the checks read, as the host's settings name them (``vision_counter_*``,
    ``vision_low_priority_metrics``)::

        >>> VisionCounters.of(VisionSettings()).moving["b"]
        'vision_media_total{reason="ocr_primary"}'
    """

    counter_traffic: str
    counter_a: str
    counter_b: str
    counter_tokens: str
    counter_assignments: str
    low_priority_metrics: str

    @classmethod
    def of(cls, settings) -> "VisionCounters":
        return places_of(cls, settings, "vision_")

    @property
    def moving(self) -> dict[str, str]:
        """The counter each wave makes move (flat once it is rolled back)."""
        return {"a": self.counter_a, "b": self.counter_b, "tokens": self.counter_tokens}


@dataclass(frozen=True)
class VisionRequest:
    """What one run must do on one host, validated from its data."""

    desired: dict[str, str]  # wave -> enabled | rolled_back, for the waves this run converges
    env: dict[str, str]  # the values this run converges (its waves' keys and the PoC flag)
    experiments: dict[str, dict]  # experiment entries of this run's waves
    settings: VisionPlaces
    verify_window: int
    counters: VisionCounters
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


def _flags(settings, state: str, waves) -> dict[str, str]:
    """The flag values of ``waves`` in ``state`` (enabled or rolled_back), from the settings' table."""
    table = getattr(settings, f"vision_{state}_values")
    return {flag: value for wave in waves for flag, value in table.get(wave, {}).items()}


def scope_of(settings) -> dict[str, str]:
    """What an approval of a rollback or enable binds: the waves and the options that change what runs."""
    return {"vision_waves": ",".join(settings.vision_waves),
            **{name: flag_value(getattr(settings, name), bool) for name in (
                "vision_compression_poc", "vision_ignore_experiments", "vision_purge_s3_cache",
                "vision_strip_context")}}


def desired_state(settings, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per wave this run converges (a rollback or enable: the waves in ``vision_waves``; a
    converge run: ``to_record``), and whether all of it comes from the host's record."""
    if target is not None:
        return {wave: target for wave in settings.vision_waves}, False
    return to_record(settings, recorded, WAVES, lambda: settings.vision_declared_state)


def _s3_target(settings) -> s3.S3Target:
    return s3.S3Target(
        endpoint=settings.vision_s3_endpoint, bucket=settings.vision_s3_bucket, region=settings.vision_s3_region,
        access_key=secret(settings.vision_s3_access_key_secret, settings, "purging the S3 cache"),
        secret_key=secret(settings.vision_s3_secret_key_secret, settings, "purging the S3 cache"))


def request_from(settings, desired: dict[str, str], options: bool = True) -> VisionRequest:
    """What a run converging ``desired`` does on a host with these (validated) settings (``options``: with
    the rollback's one-off cleanups, which converge runs skip); PreflightError names what it may not do."""
    env = {}
    for state in STATES:
        env.update(_flags(settings, state, [wave for wave, wanted in desired.items() if wanted == state]))
    env[POC_KEY] = flag_value(settings.vision_compression_poc, bool)
    if settings.rollbook_environment == "prod" and settings.vision_compression_poc:
        raise PreflightError(f"{POC_KEY} stays false in prod: vision_compression_poc=true refused")
    experiments = {}
    for wave, state in desired.items():
        if wave in EXPERIMENT_OF:
            name = EXPERIMENT_OF[wave]
            if state == "enabled" and not isinstance(settings.vision_experiments.get(name), dict):
                raise PreflightError(f"vision_experiments has no entry {name}")
            experiments[name] = copy.deepcopy(CONTROL if state == "rolled_back" else settings.vision_experiments[name])
    enabled_values = _flags(settings, "enabled", ("b", "c"))
    places = places_of(VisionPlaces, settings, "vision_", metrics_url=settings.vision_metrics_url.rstrip("/"),
                       phash_prefix=enabled_values["VISION_PHASH_REDIS_PREFIX"],
                       low_stream=enabled_values["VISION_LOW_PRIORITY_STREAM"], keys=MANAGED_KEYS)
    return VisionRequest(
        desired=dict(desired), env=env, experiments=experiments, settings=places,
        verify_window=settings.vision_verify_window, counters=VisionCounters.of(settings), strip_context=options and settings.vision_strip_context,
        purge_s3=_s3_target(settings) if options and settings.vision_purge_s3_cache else None,
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
