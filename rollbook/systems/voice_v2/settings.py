"""voice-v2's data keys (group voice_v2; runbook 003), declared once.

    >>> VoiceSettings(voice_level="2").voice_level
    2
"""

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StringConstraints, field_validator, model_validator

from ...pipeline.settings import LocalUrl, Positive, SafePath, Url
from ...core.schema import Flag, Settings, key
from ..settings_types import (MANAGED_KEY, EnvKey, GitRef, HealthPath, ImageName, ImageTag, ManagedKey, RelativePath, State, Text,
                              UnitName, blank_to_none, confined, declared_states, items, path_key, relative_key)

# The recorded units: level 1 env and providers, level 2 code and requirements, level 3 image (compose) or venv (systemd).
Unit = Literal["env", "providers", "code", "requirements", "image", "venv"]

PROVIDER = r"\A[a-z][a-z0-9_-]{0,63}\Z"  # as the code reads a name: stripped, lower case
ENV_VALUE = r"\A[A-Za-z0-9_.:/@,+-]*\Z"  # what rollbook.host.envfile writes (safe in sed)

ProviderName = Annotated[str, StringConstraints(pattern=r"\A[A-Za-z][A-Za-z0-9_-]{0,63}\Z")]
EnvValue = Annotated[str, StringConstraints(pattern=ENV_VALUE)] | StrictBool | StrictInt | StrictFloat
# KEY -> value, or the text KEY=value,KEY=value
EnvValues = dict[ManagedKey, EnvValue] | str
# name -> priority, or the text name:priority,name:priority
Priorities = dict[ProviderName, Positive] | str
AbsolutePath = Annotated[str, StringConstraints(pattern=r"\A/[A-Za-z0-9._/-]+\Z")]
# pip options, space-separated: no quotes, $, ;, |, &, <, > or newline.
PIP_FLAGS = ("--no-index", "--no-deps", "--prefer-binary", "--no-cache-dir", "--only-binary=:all:")
PipArgs = Annotated[str, StringConstraints(pattern=r"\A[A-Za-z0-9_=./:-]*( [A-Za-z0-9_=./:-]+)*\Z")]
PositiveNumber = Annotated[float, Field(gt=0)]
# A registry's address: host[:port], no scheme, no path.
Registry = Annotated[str, StringConstraints(pattern=r"\A[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?\Z")]


class VoiceSettings(Settings):
    """voice-v2's rollback level and what each level converges to, voice-file recovery, and the checks."""

    title: ClassVar[str] = "voice-v2 (group voice_v2; runbook 003)"

    voice_level: Annotated[int, Field(ge=1, le=3)] = key(
        1, "The runbook's rollback level a rollback or enable converges (one level per run; they do not include "
        "each other; a converge run converges every recorded unit, of any level)", origin="rollbook",
        allowed="1 (.env + provider settings), 2 (code + requirements), 3 (compose image tag; on systemd "
        "hosts the virtualenv from its backup copy)")
    voice_declared_state: dict[Unit, State] = declared_states(
        Unit, "The state of each unit on a host that has no recorded state yet (deploys/converge.py, with "
        "rollbook_converge_declared); a host converges only its kind's units (image: compose; code, requirements, "
        "venv: systemd); code and requirements must agree; a venv declared enabled is left alone (no current "
        "virtualenv to converge back to)")

    # --- how and where the service runs on a host ------------------------------------------------
    voice_unit: Literal["systemd", "compose"] = key("systemd", "How the service runs",
                                                    origin="rollbook", allowed="systemd, compose")
    voice_systemd_unit: UnitName = key("voice-v2-service", "The service's systemd unit (voice_unit=systemd)",
                                       origin="runbook 003")
    voice_compose_service: UnitName = key("voice-v2", "The service's compose service (voice_unit=compose)",
                                          origin="runbook 003")
    voice_app_dir: SafePath = path_key("/opt/voice_v2", "The app's git checkout and compose project", origin="rollbook")
    voice_env_file: SafePath = path_key("/opt/voice_v2/.env", "The service's env file", origin="rollbook")
    voice_env_previous: SafePath = path_key(
        "/opt/voice_v2/.env.previous", "The known-good .env a level 1 rollback starts from", origin="rollbook")
    voice_providers_file: SafePath = path_key(
        "/opt/voice_v2/config/providers.json", "The provider settings file (rollbook's assumption: runbook 003 "
        "sets them with set_config)", origin="rollbook")
    voice_code_dir: RelativePath = relative_key("app/services/voice_v2", "The code tree", "voice_app_dir",
                                                origin="runbook 003")
    voice_venv: SafePath = path_key("/opt/voice_v2/venv_voice_v2_optimized", "The service's virtualenv",
                                    origin="rollbook")
    voice_venv_backup: SafePath = path_key(
        "/opt/voice_v2/venv_voice_v2_backup", "The virtualenv's backup copy (level 3 on systemd hosts)",
        origin="rollbook")
    voice_compose_file: SafePath = path_key("/opt/voice_v2/docker-compose.yml", "The compose file", origin="rollbook")
    voice_image: ImageName = key(
        "voice-v2", "The image repository the compose file names (<image>:<tag>)",
        origin="runbook 003", allowed="an image name")
    voice_health_path: HealthPath = key(
        "/health", "The service's health endpoint under voice_base_url (runbook 003: curl "
        "http://localhost:8000/health)", origin="runbook 003", allowed="a path (/health)")
    voice_base_url: LocalUrl = key("http://127.0.0.1:8000", "The service as seen from the host", origin="runbook 003",
                                   allowed="a loopback URL (127.0.0.1, localhost, [::1])")
    voice_pip_args: PipArgs = key(
        "", "Extra `pip install` arguments for the level 2 requirements install",
        origin="rollbook", allowed='options ("" none): '
        + ", ".join(PIP_FLAGS) + ", --find-links=<absolute folder>")

    # --- level 1: the .env and the provider settings ---------------------------------------------
    voice_env_source: Literal["previous", "data"] = key(
        "previous", "Level 1 rollback: the known-good .env is the host's .env.previous (every key in it) or "
        "data only", origin="runbook 003", allowed="previous, data")
    voice_rolled_back_env: EnvValues = key(
        {}, "Level 1 rollback: .env values applied on top of .env.previous (or alone)",
        origin="rollbook", allowed="KEY -> value")
    voice_disable_providers: str | list[str] = key(
        "", "Level 1 rollback: providers to disable, in stt and tts alike", origin="rollbook",
        allowed='comma-separated names ("" none)')
    voice_provider_priorities: Priorities = key(
        {"openai": 1}, "Level 1 rollback: provider priorities to set, in stt and tts alike (1 is tried first)",
        origin="runbook 003",
        allowed="name -> 1 or more")

    # --- level 2: the code -----------------------------------------------------------------------
    voice_code_source: Literal["backup", "git"] = key(
        "backup", "Level 2 rollback: where the code comes from", origin="rollbook", allowed="backup, git")
    voice_backup_root: SafePath = path_key(
        "/backup", "Level 2 from backup: the folder of the voice_v2_<YYYYMMDD> backups (each holding "
        "app/services/voice_v2 and requirements.txt)", origin="runbook 003")
    voice_backup_dir: AbsolutePath | None = key(
        None, "Level 2 from backup: the backup to restore (None: the newest)",
        origin="rollbook", allowed="None or an absolute path")
    voice_git_ref: GitRef | None = key(
        None, "Level 2 from git: the known-good ref to check out", origin="rollbook", allowed="None or a ref")

    # --- level 3: the image tag ------------------------------------------------------------------
    voice_previous_image_tag: ImageTag = key(
        "previous-stable", "Level 3 rollback on compose hosts: the tag that replaces the current one",
        origin="runbook 003",
        allowed="a tag present on the host, or in voice_image_registry")
    voice_image_registry: Registry | None = key(
        None, "Level 3 on compose hosts: the registry a missing <image>:<tag> is pulled from "
        "(docker pull <registry>/<image>:<tag>, then tagged <image>:<tag>; None: a missing image is refused)",
        origin="rollbook",
        allowed="None or host[:port]")

    # --- enable: the current release -------------------------------------------------------------
    voice_current_env: EnvValues = key(
        {"VOICE_V2_OPTIMIZED": "true"}, "Enable: the current release's .env values",
        origin="rollbook", allowed="KEY -> value")
    voice_current_providers: Priorities = key(
        {"google": 1, "yandex": 2, "openai": 3}, "Enable: the current release's providers (each enabled) and "
        "their priorities", origin="rollbook", allowed="name -> 1 or more")
    voice_current_ref: GitRef | None = key(
        "v2.0.0", "Enable: the git ref of the current release's code (level 2)", origin="rollbook", allowed="a ref")
    voice_current_image_tag: ImageTag = key(
        "latest", "Enable: the current release's image tag (level 3 on compose hosts)",
        origin="runbook 003", allowed="an image tag")

    # --- voice-file recovery (rollback option) ----------------------------------------------------
    voice_recover_files: Flag = key(
        False, "Copy the objects under the backup bucket/prefix to the production bucket/prefix, only those "
        "missing or differing (size or ETag)", origin="rollbook", allowed="true or false")
    voice_backup_bucket: Text = key("voice-files-backup", "The bucket voice files are recovered from",
                                    origin="runbook 003")
    voice_backup_prefix: Text = key("", "The prefix voice files are recovered from",
                                    origin="rollbook", allowed='a prefix ("" none)')
    voice_files_bucket: Text = key("voice-files", "The production bucket of voice files", origin="runbook 003")
    voice_files_prefix: Text = key("", "The production prefix of voice files",
                                   origin="runbook 003", allowed='a prefix ("" none)')
    voice_s3_endpoint: Url | None = key(
        None, "The S3 endpoint of both buckets (None: the provider's default)",
        origin="rollbook", allowed="None or a URL")
    voice_s3_region: Text = key("us-east-1", "The region of both buckets", origin="rollbook")
    voice_s3_access_key_secret: EnvKey = key(
        "S3_ACCESS_KEY_ID", "The operator's secret holding the S3 access key ID",
        origin="rollbook", allowed="a secret's name")
    voice_s3_secret_key_secret: EnvKey = key(
        "S3_SECRET_ACCESS_KEY", "The operator's secret holding the S3 secret access key",
        origin="rollbook", allowed="a secret's name")

    # --- verification ----------------------------------------------------------------------------
    voice_health_timeout: Positive = key(30, "Seconds to wait for /health", origin="rollbook", allowed="1 or more")
    voice_validation_timeout: Positive = key(
        120, "Seconds the runbook's validation (ProductionValidator, the STT and TTS calls, the timed TTS "
        "requests) may take on the host, run with the service's virtualenv", origin="rollbook", allowed="1 or more")
    voice_latency_requests: Positive = key(
        9, "TTS requests the verify times (runbook 003: 3 texts, 3 times each)", origin="runbook 003",
        allowed="1 or more")
    voice_latency_avg_seconds: PositiveNumber = key(
        3, "The runbook's baseline: average TTS latency, in seconds", origin="runbook 003", allowed="a number above 0")
    voice_latency_p95_seconds: PositiveNumber = key(
        5, "The runbook's baseline: p95 TTS latency, in seconds", origin="runbook 003", allowed="a number above 0")
    voice_memory_limit_mb: PositiveNumber = key(
        1024, "The runbook's memory limit, in MB (runbook 003: memory_usage < 1GB)", origin="runbook 003",
        allowed="a number above 0")

    @field_validator("voice_backup_dir", "voice_git_ref", "voice_current_ref", "voice_image_registry", mode="before")
    @classmethod
    def _blank(cls, value):
        return blank_to_none(value, "None")

    @field_validator("voice_s3_endpoint", mode="before")
    @classmethod
    def _no_endpoint(cls, value):
        return blank_to_none(value)

    @field_validator("voice_pip_args", "voice_backup_prefix", "voice_files_prefix", mode="before")
    @classmethod
    def _empty(cls, value):
        return "" if value in (None, False) else value

    @field_validator("voice_pip_args")
    @classmethod
    def _pip_options(cls, value):
        """Options that change where pip looks and what it installs besides the requirements file
        (``-r``, ``-c``, ``-e``, ``--index-url``, ``--trusted-host``, ``--target``, ...) are refused: only
        the listed flags and a local wheel folder."""
        for word in value.split():
            folder = word.removeprefix("--find-links=") if word.startswith("--find-links=") else ""
            if word not in PIP_FLAGS and not (folder.startswith("/") and ".." not in folder.split("/")):
                raise ValueError(f"{word!r} is not an allowed pip option (allowed: {', '.join(PIP_FLAGS)}, "
                                 "--find-links=<absolute folder>)")
        return value

    @field_validator("voice_disable_providers")
    @classmethod
    def _provider_names(cls, value) -> tuple[str, ...]:
        """The names, as the code reads them (lower case)."""
        names = [name.lower() for name in items(value)]
        wrong = [name for name in names if not re.search(PROVIDER, name)]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not a provider name")
        return tuple(names)

    @field_validator("voice_provider_priorities", "voice_current_providers")
    @classmethod
    def _priority_text(cls, value) -> dict[str, int]:
        """``{"openai": 1}`` or ``"openai:1,google:2"``, as ``{name: priority}`` (names in lower case)."""
        pairs = [item.partition(":")[::2] for item in items(value)] if isinstance(value, str) else value.items()
        priorities = {}
        for name, priority in pairs:
            name = str(name).strip().lower()
            if not re.search(PROVIDER, name):
                raise ValueError(f"{name!r}: not a provider name")
            if not re.fullmatch(r"\d+", str(priority).strip()) or int(priority) <= 0:
                raise ValueError(f"{name}:{priority}: not name:priority (1 or more)")
            priorities[name] = int(priority)
        return priorities

    @field_validator("voice_rolled_back_env", "voice_current_env")
    @classmethod
    def _env_text(cls, value) -> dict[str, str]:
        """``{KEY: value}`` or ``"KEY=value,KEY=value"``, as ``{KEY: text}``."""
        if isinstance(value, str):
            pairs = {}
            for item in items(value):
                name, equals, text = item.partition("=")
                if not equals or not re.search(MANAGED_KEY, name) or not re.search(ENV_VALUE, text):
                    raise ValueError(f"{item!r}: not KEY=value (letters, digits and _.:/@+- only)")
                pairs[name] = text
            return pairs
        return {name: str(text) for name, text in value.items()}

    @model_validator(mode="after")
    def _paths_confined(self):
        """Every file and virtualenv inside the app folder; a backup inside the backup root."""
        confined(self, {"voice_app_dir": "voice_app_dir", "voice_backup_root": "voice_backup_root"},
                 {name: "voice_app_dir" for name in ("voice_env_file", "voice_env_previous", "voice_providers_file",
                                                    "voice_venv", "voice_venv_backup", "voice_compose_file")}
                 | {"voice_backup_dir": "voice_backup_root"})
        return self
