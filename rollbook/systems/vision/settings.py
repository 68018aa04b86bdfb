"""The vision worker's data keys (group vision_workers; runbooks 000 and 001), declared once, and
validated into what a run uses: the waves in the runbook's order, each flag value as its env file
spells it::

    >>> VisionSettings(vision_waves="c,B").vision_waves
    ('b', 'c')
    >>> VisionSettings().vision_enabled_values["a"]["VISION_MAX_OUTPUT_TOKENS"]
    '512'
"""

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import StrictBool, StrictInt, StringConstraints, field_validator, model_validator

from ...pipeline.settings import LocalUrl, Positive, SafePath, Url
from ...core.schema import Flag, Settings, key
from ..settings_types import (EnvKey, HealthPath, ManagedKey, MetricPrefix, MetricSelector, RedisName, State, Text, UnitName,
                              blank_to_none, confined, declared_states, flag_value, items, path_key)

Wave = Literal["a", "b", "c", "tokens"]
# The runbook's flag table: wave -> {flag: its recommended value}, whose type is the flag's kind (bool, int, str).
RECOMMENDED = {
    "a": {"VISION_PREPROCESS_ENABLED": True, "VISION_PREPROCESS_GRAYSCALE": True, "VISION_MAX_OUTPUT_TOKENS": 512},
    "b": {"VISION_LOCAL_OCR_PRIMARY_ENABLED": True, "VISION_PHASH_ENABLED": True,
          "VISION_PHASH_REDIS_PREFIX": "vision:phash"},
    "c": {"VISION_ROI_CROP_ENABLED": True, "VISION_LOW_PRIORITY_QUEUE_ENABLED": True,
          "VISION_LOW_PRIORITY_STREAM": "stream:posts:vision:low"},
    "tokens": {"VISION_TOKENS_COUNT_ENABLED": True},
}
WAVES = {wave: {flag: type(value) for flag, value in flags.items()} for wave, flags in RECOMMENDED.items()}
# A flag's value in the worker's env file: true/false, a whole number, or plain text (settings_types.flag_value).
FlagValue = Annotated[str, StringConstraints(pattern=r"\A[A-Za-z0-9_.:/@,+-]+\Z")] | StrictBool | StrictInt

ENABLED_VALUES = {wave: {flag: flag_value(value, type(value)) for flag, value in flags.items()}
                  for wave, flags in RECOMMENDED.items()}
ROLLED_BACK_VALUES = {wave: {flag: "false" for flag, kind in flags.items() if kind is bool}  # its boolean flags off
                      for wave, flags in WAVES.items()}
EXPERIMENTS = {f"wave_{wave}": {"enabled": True, "default_variant": "treatment", "force_tenants": []} for wave in "abc"}


class VisionSettings(Settings):
    """The vision worker's waves, their flag values and experiments, the rollback's cleanups, and where it lives."""

    title: ClassVar[str] = "Vision worker (group vision_workers; runbooks 000 and 001)"

    # --- what a run converges --------------------------------------------------------------------
    vision_waves: str | list[str] = key(
        "a,b,c,tokens", "Waves a run converges (comma-separated text or a list)", origin="runbook 000",
        allowed="any subset of a, b, c, tokens")
    vision_declared_state: dict[Wave, State] = declared_states(
        Wave, "The state of each wave on a host that has no recorded state yet (deploys/converge.py)",
        allowed="wave -> enabled or rolled_back")
    vision_enabled_values: dict[Wave, dict[ManagedKey, FlagValue]] = key(
        ENABLED_VALUES, "Flag values when enabled: the runbook's recommended ones",
        origin="runbook 000", allowed="wave -> {flag: value}")
    vision_rolled_back_values: dict[Wave, dict[ManagedKey, FlagValue]] = key(
        ROLLED_BACK_VALUES, "Flag values when rolled back (flags not named keep their value): each wave's boolean "
        "flags false; runbook 000 names only VISION_PREPROCESS_ENABLED for wave A, rollbook turns "
        "VISION_PREPROCESS_GRAYSCALE off too", origin="rollbook",
        allowed="wave -> {flag: value}")
    vision_experiments: dict[str, dict[str, Any]] = key(
        EXPERIMENTS, "Experiments when enabled (vision_experiments.yml entries); a rolled-back wave's entry is "
        "always {enabled: false, default_variant: control, force_tenants: []}; runbook 000 names wave_a/b/c but "
        "gives their values as Custom, so the enabled entries are rollbook's assumption",
        origin="rollbook", allowed="experiment -> entry")
    vision_compression_poc: Flag = key(
        "false", "FEATURE_VISION_COMPRESSION_POC (the sandbox PoC); true is refused in prod",
        origin="runbook 000", allowed="true or false")
    vision_ignore_experiments: Flag = key(
        False, "Roll back even while an experiment of a wave in scope is assigning (needed in prod)", origin="rollbook",
        allowed="true or false")

    # --- rollback options (each only when asked for; the data they remove is saved first) ------
    vision_purge_s3_cache: Flag = key(
        False, "Delete the S3 result cache vision/{tenant}/{sha256}_{model}.json (copied under "
        "rollbook-saved/<run>/ first)", origin="runbook 000", allowed="true or false")
    vision_strip_context: Flag = key(
        False, "Remove analysis.context from post_enrichment rows (saved into a "
        "post_enrichment_context_backup_<run> table first)", origin="runbook 000", allowed="true or false")
    vision_s3_endpoint: Url | None = key(
        None, "The S3 endpoint of the result cache (None: the provider's default)",
        origin="rollbook", allowed="None or a URL")
    vision_s3_bucket: Text = key("vision", "The S3 bucket of the result cache", origin="rollbook")
    vision_s3_region: Text = key("us-east-1", "The region of the result cache's bucket", origin="rollbook")
    vision_s3_access_key_secret: EnvKey = key(
        "S3_ACCESS_KEY_ID", "The operator's secret holding the S3 access key ID",
        origin="runbook 001", allowed="a secret's name")
    vision_s3_secret_key_secret: EnvKey = key(
        "S3_SECRET_ACCESS_KEY", "The operator's secret holding the S3 secret access key",
        origin="runbook 001", allowed="a secret's name")

    # --- where the worker lives on a host ------------------------------------------------------
    vision_env_file: SafePath = path_key("/opt/vision/.env", "The worker's env file", origin="rollbook")
    vision_project_dir: SafePath = path_key("/opt/vision", "The worker's compose project folder", origin="rollbook")
    vision_service: UnitName = key("worker", "The worker's compose service name", origin="runbook 000")
    vision_experiments_file: SafePath = path_key(
        "/opt/vision/config/vision_experiments.yml", "The worker's experiments file", origin="rollbook")
    vision_metrics_url: LocalUrl = key(
        "http://127.0.0.1:8001", "The worker's metrics server, as seen from the host (from runbook 001: "
        "/metrics on port 8001)", origin="runbook 001", allowed="a URL")
    vision_uploaded_stream: RedisName = key(
        "stream:posts:vision:uploaded", "The stream the worker consumes (rollbook's probe, runbook 001's smoke "
        "event, is published there)", origin="runbook 001", allowed="a Redis stream name")
    vision_consumer_group: RedisName = key(
        "vision_workers", "The worker's consumer group on vision_uploaded_stream (the probe's message must leave "
        "its pending list)", origin="runbook 001", allowed="a Redis consumer group name")
    # the series the checks read (the worker's own names: change them if its metrics are named otherwise)
    vision_counter_traffic: MetricSelector = key(
        "vision_media_total", "Every media item the worker processed, whatever its waves: shows there was "
        "traffic (runbook 000 shows it by reason; the checks sum its series)", origin="runbook 000",
        allowed="a metric name")
    vision_counter_a: MetricSelector = key(
        "vision_preprocess_total", "The counter wave a makes move (flat once it is rolled back)", origin="rollbook",
        allowed="a metric name, with or without {label=\"value\"}")
    vision_counter_b: MetricSelector = key(
        'vision_media_total{reason="ocr_primary"}', "The counter wave b makes move (runbook 000: back to 0 when "
        "OCR is off)", origin="runbook 000", allowed="a metric name, with or without {label=\"value\"}")
    vision_counter_tokens: MetricSelector = key(
        "vision_tokens_estimated_total", "The counter wave tokens makes move (runbook 000: stops growing when "
        "tokens_count is off)", origin="runbook 000", allowed="a metric name, with or without {label=\"value\"}")
    vision_counter_assignments: MetricSelector = key(
        "vision_experiment_assignments_total", "Experiment assignments, by label wave=<experiment>: rising "
        "means an experiment is active (runbook 000: checked before a rollback)", origin="runbook 000",
        allowed="a metric name")
    vision_low_priority_metrics: MetricPrefix = key(
        "vision_low_priority_", "The start of the low-priority queue's metrics, all zero after wave c's cleanup "
        "(runbook 000: vision_low_priority_*)", origin="runbook 000", allowed="a metric name prefix")
    vision_health_path: HealthPath | None = key(
        None, "The worker's health endpoint under vision_metrics_url (None, rollbook's assumption: runbook 001 "
        "shows none; the worker is ready when its container runs and /metrics answers 200)",
        origin="rollbook", allowed="None or a path (/health)")
    vision_probe: Flag = key(
        True, "Send runbook 001's smoke event during verification, so a rollback and an enable are proven "
        "without traffic (false: no probe; it costs model tokens in prod)", origin="rollbook", allowed="true or false")
    vision_accept_unproven: Flag = key(
        False, "Accept a run whose effect nothing could show (no traffic and no probe): its outcome stays "
        "'unproven'; in prod such a run fails unless this is true", origin="rollbook", allowed="true or false")
    vision_saved_dir: SafePath = path_key(
        "/var/lib/rollbook/saved/vision", "Where stream entries are saved on the host before a trim", origin="rollbook")

    # --- cleanup and verification ----------------------------------------------------------------
    vision_scan_batch: Positive = key(
        500, "Keys per UNLINK when deleting phash keys (found with SCAN)", origin="rollbook", allowed="1 or more")
    vision_verify_window: Positive = key(
        3, "Seconds between the two metric scrapes that show a counter flat or moving",
        origin="rollbook", allowed="1 or more")
    vision_experiment_window: Positive = key(
        2, "Seconds between the two scrapes that show an experiment assigning, before a rollback", origin="rollbook",
        allowed="1 or more")
    vision_health_timeout: Positive = key(30, "Seconds to wait for the worker to get ready",
                                          origin="rollbook", allowed="1 or more")
    vision_smoke_timeout: Positive = key(
        90, "Seconds to wait for the smoke event to be processed (runbook 001 waits 90)",
        origin="runbook 001", allowed="1 or more")

    @field_validator("vision_waves")
    @classmethod
    def _known_waves(cls, value) -> tuple[str, ...]:
        """The waves named, in the runbook's order."""
        names = [name.lower() for name in items(value)]
        unknown = [name for name in names if name not in get_args(Wave)]
        if not names or unknown:
            raise ValueError(f"{'unknown ' + ', '.join(map(repr, unknown)) if unknown else 'no wave'} "
                             f"(allowed: {', '.join(get_args(Wave))})")
        return tuple(wave for wave in WAVES if wave in names)

    @field_validator("vision_enabled_values", "vision_rolled_back_values")
    @classmethod
    def _wave_flags(cls, table, info) -> dict[str, dict[str, str]]:
        """Each wave's flags, each value as the env file spells it (``true``, ``512``, ``vision:phash``)."""
        values = {}
        for wave, flags in table.items():
            for flag, value in flags.items():
                if flag not in WAVES[wave]:
                    raise ValueError(f"[{wave}]: {flag} is not a wave {wave} flag")
                values.setdefault(wave, {})[flag] = flag_value(value, WAVES[wave][flag], f"[{wave}][{flag}]")
        return values

    @field_validator("vision_s3_endpoint", "vision_health_path", mode="before")
    @classmethod
    def _blank(cls, value):
        return blank_to_none(value, "none", "None")

    @model_validator(mode="after")
    def _paths_confined(self):
        """The env and experiments files inside the project folder (and never the same file: the
        experiments file is read into a fact); saved entries under rollbook's own folder."""
        confined(self, {"vision_project_dir": "vision_project_dir"},
                 {"vision_env_file": "vision_project_dir", "vision_experiments_file": "vision_project_dir",
                  "vision_saved_dir": "/var/lib/rollbook/saved"})
        if self.vision_experiments_file == self.vision_env_file:
            raise ValueError("vision_experiments_file: is vision_env_file (the env file is never read whole)")
        return self
