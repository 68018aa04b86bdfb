"""The voice-v2 request: what one run must do on one host, validated from its host data.

``scope_of`` (what an approval binds: the level and its options), ``request_from`` (data ->
``VoiceRequest``; PreflightError names the bad key), and the provider settings a level-1 run
leaves (``providers_text``).
"""

import hashlib
import json
import re
from dataclasses import dataclass

from ...host import envfile, s3
from ...preflight import PreflightError, boolean, choice, positive_int, require
from ...secrets import secret
from .facts import VoiceSettings

SYSTEM, GROUP = "voice_v2", "voice_v2"
LEVELS = {1: "config", 2: "code", 3: "system"}  # level -> the unit it converges (recorded state)
KINDS = ("stt", "tts")
STATES = ("enabled", "rolled_back")
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
BACKUP_DIR = re.compile(r"^/[A-Za-z0-9._/-]+$")


@dataclass(frozen=True)
class VoiceRequest:
    target: str  # rolled_back | enabled
    level: int
    settings: VoiceSettings
    env: dict[str, str]  # level 1: values from data (over .env.previous's when env_from_previous)
    env_from_previous: bool
    enable_providers: dict[str, bool]  # level 1: provider -> enabled
    priorities: dict[str, int]  # level 1: provider -> priority
    code_source: str  # level 2: backup | git
    backup_dir: str | None  # level 2: the backup directory asked for (None: the newest)
    backup_root: str
    ref: str | None  # level 2 with git: the ref
    image_tag: str  # level 3 on compose hosts
    recover: tuple | None  # (source target, prefix, dest target, prefix)
    health_timeout: int
    latency_requests: int
    latency_avg: float
    latency_p95: float
    memory_mb: float
    backup_keep: int
    # env values never travel: only these keys' values arrive (rollbook_public_env_keys), every other value
    # as a digest under the host's salt in salt_file (compared, copied on the host); set by steps.VOICE
    public: frozenset[str] = frozenset()
    salt_file: str = ""

    def describe(self) -> str:
        what = {1: "configuration", 2: "code", 3: "image tag" if self.settings.unit == "compose" else "virtualenv"}
        return f"level {self.level} ({what[self.level]}) {self.target.replace('_', ' ')}"


def level_of(data) -> int:
    value = str(data.get("voice_level", 1)).strip()
    if value not in ("1", "2", "3"):
        raise PreflightError(f"voice_level: {value!r} is not one of 1, 2, 3")
    return int(value)


def _names(value, key: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    for name in names:
        if not NAME.match(name):
            raise PreflightError(f"{key}: {name!r} is not a provider name")
    return names


def _priorities(value, key: str) -> dict[str, int]:
    """``{"openai": 1}`` or ``"openai:1,google:2"``."""
    if isinstance(value, str):
        pairs = [item.split(":", 1) if ":" in item else (item, "") for item in value.split(",") if item.strip()]
    else:
        pairs = list((value or {}).items())
    result = {}
    for name, priority in pairs:
        name = _names([name], key)[0]
        result[name] = positive_int(priority, f"{key}[{name}]")
    return result


def _seconds(value, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise PreflightError(f"{key}: {value!r} is not a positive number")
    return number


def _env_values(value, key: str) -> dict[str, str]:
    if isinstance(value, str):
        value = dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    values = {str(k): str(v) for k, v in (value or {}).items()}
    try:
        envfile.check_managed(values)
    except ValueError as error:
        raise PreflightError(f"{key}: {error}") from None
    return values


def _optional(data, key: str) -> str | None:
    value = data.get(key)
    return None if value in (None, "", False, "None") else str(value)


def _s3(data, bucket_key: str) -> s3.S3Target:
    endpoint = data.get("voice_s3_endpoint")
    return s3.S3Target(
        endpoint=str(endpoint) if endpoint else None, bucket=str(require(data, bucket_key)),
        region=str(require(data, "voice_s3_region")),
        access_key=secret(str(require(data, "voice_s3_access_key_secret")), data, "recovering voice files"),
        secret_key=secret(str(require(data, "voice_s3_secret_key_secret")), data, "recovering voice files"))


def scope_of(data) -> dict[str, str]:
    """What an approval binds: the level and the options that change what runs."""
    return {"voice_level": str(level_of(data)),
            "voice_code_source": choice(require(data, "voice_code_source"), ("backup", "git"), "voice_code_source"),
            "voice_backup_dir": _optional(data, "voice_backup_dir") or "newest",
            "voice_git_ref": _optional(data, "voice_git_ref") or "none",
            "voice_previous_image_tag": str(require(data, "voice_previous_image_tag")),
            "voice_recover_files": "true" if boolean(require(data, "voice_recover_files"), "voice_recover_files")
            else "false"}


def request_from(data, target: str) -> VoiceRequest:
    """Validate ``data`` for a run towards ``target``; PreflightError names the bad key."""
    target = choice(target, STATES, "target")
    level = level_of(data)
    unit = choice(require(data, "voice_unit"), ("systemd", "compose"), "voice_unit")
    settings = VoiceSettings(
        unit=unit, service=str(require(data, "voice_systemd_unit" if unit == "systemd" else "voice_compose_service")),
        app_dir=str(require(data, "voice_app_dir")), env_file=str(require(data, "voice_env_file")),
        env_previous=str(require(data, "voice_env_previous")),
        providers_file=str(require(data, "voice_providers_file")), code_dir=str(require(data, "voice_code_dir")),
        venv=str(require(data, "voice_venv")), venv_backup=str(require(data, "voice_venv_backup")),
        compose_file=str(require(data, "voice_compose_file")), image=str(require(data, "voice_image")),
        base_url=str(require(data, "voice_base_url")).rstrip("/"), pip_args=str(data.get("voice_pip_args") or ""),
    )
    rollback = target == "rolled_back"
    if rollback:
        env_source = choice(require(data, "voice_env_source"), ("previous", "data"), "voice_env_source")
        env = _env_values(require(data, "voice_rolled_back_env"), "voice_rolled_back_env")
        enable = {name: False for name in _names(require(data, "voice_disable_providers"), "voice_disable_providers")}
        priorities = _priorities(require(data, "voice_provider_priorities"), "voice_provider_priorities")
    else:
        env_source = "data"
        env = _env_values(require(data, "voice_current_env"), "voice_current_env")
        priorities = _priorities(require(data, "voice_current_providers"), "voice_current_providers")
        enable = {name: True for name in priorities}
    code_source = choice(require(data, "voice_code_source"), ("backup", "git"), "voice_code_source") \
        if rollback else "git"
    ref = _optional(data, "voice_git_ref" if rollback else "voice_current_ref")
    if level == 2 and code_source == "git":
        key = "voice_git_ref" if rollback else "voice_current_ref"
        if ref is None:
            raise PreflightError(f"{key} is required for a level 2 {'rollback' if rollback else 'enable'} from git")
        if not REF.match(ref):
            raise PreflightError(f"{key}: {ref!r} is not a git ref name")
    backup_dir = _optional(data, "voice_backup_dir")
    if backup_dir is not None and not BACKUP_DIR.match(backup_dir):
        raise PreflightError(f"voice_backup_dir: {backup_dir!r} is not an absolute path")
    tag_key = "voice_previous_image_tag" if rollback else "voice_current_image_tag"
    image_tag = str(require(data, tag_key))
    if not TAG.match(image_tag):
        raise PreflightError(f"{tag_key}: {image_tag!r} is not an image tag")
    recover = None
    if rollback and boolean(require(data, "voice_recover_files"), "voice_recover_files"):
        recover = (_s3(data, "voice_backup_bucket"), str(data.get("voice_backup_prefix") or ""),
                   _s3(data, "voice_files_bucket"), str(data.get("voice_files_prefix") or ""))
    return VoiceRequest(
        target=target, level=level, settings=settings, env=env, env_from_previous=env_source == "previous",
        enable_providers=enable, priorities=priorities, code_source=code_source, backup_dir=backup_dir,
        backup_root=str(require(data, "voice_backup_root")), ref=ref if code_source == "git" else None,
        image_tag=image_tag, recover=recover,
        health_timeout=positive_int(require(data, "voice_health_timeout"), "voice_health_timeout"),
        latency_requests=positive_int(require(data, "voice_latency_requests"), "voice_latency_requests"),
        latency_avg=_seconds(require(data, "voice_latency_avg_seconds"), "voice_latency_avg_seconds"),
        latency_p95=_seconds(require(data, "voice_latency_p95_seconds"), "voice_latency_p95_seconds"),
        memory_mb=_seconds(require(data, "voice_memory_limit_mb"), "voice_memory_limit_mb"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
    )


def providers_text(current: str | None, request: VoiceRequest, where: str) -> tuple[str, dict]:
    """The provider settings after this run (JSON, sorted), and the document; PreflightError when unusable."""
    try:
        document = json.loads(current or "")
    except ValueError:
        raise PreflightError(f"{where} is missing or not JSON; fix it by hand first") from None
    if not isinstance(document, dict) or not all(isinstance(document.get(kind), dict) for kind in KINDS):
        raise PreflightError(f"{where} has no stt and tts provider tables; fix it by hand first")
    known = set(document["stt"]) | set(document["tts"])
    unknown = sorted((set(request.enable_providers) | set(request.priorities)) - known)
    if unknown:
        raise PreflightError(f"{where} has no provider {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for kind in KINDS:
        for name, entry in document[kind].items():
            if name in request.enable_providers:
                entry["enabled"] = request.enable_providers[name]
            if name in request.priorities:
                entry["priority"] = request.priorities[name]
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", document


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
