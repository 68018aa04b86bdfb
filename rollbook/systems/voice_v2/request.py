"""The voice-v2 request: what one run must do on one host, from its validated settings::

    desired, from_record = desired_state(settings, "rolled_back", recorded)   # unit -> state
    request = request_from(settings, desired, "rolled_back")                  # a VoiceRequest
"""

import json
import re
from contextlib import suppress
from dataclasses import dataclass

from ...host import envfile, s3
from ...core.preflight import PreflightError
from ...core.secrets import secret
from ...pipeline.stages import STATES, to_record
from ..settings_types import places_of
from .facts import VoicePlaces

SYSTEM, GROUP = "voice_v2", "voice_v2"
LEVEL_OF = {"env": 1, "providers": 1, "code": 2, "requirements": 2, "image": 3, "venv": 3}  # unit -> level
HOST_UNITS = {"systemd": ("env", "providers", "code", "requirements", "venv"),  # the units a kind of host has
              "compose": ("env", "providers", "image")}
CODE_UNITS = ("code", "requirements")  # level 2: restored from one source, so in one state
LEGACY = {"config": 1, "system": 3}  # what runs recorded before per-unit records (one unit per level; "code" kept)
KINDS = ("stt", "tts")
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
BACKUP_DIR = re.compile(r"^/[A-Za-z0-9._/-]+$")


@dataclass(frozen=True)
class VoiceRequest:
    desired: dict[str, str]  # unit -> enabled | rolled_back, for the units this run converges
    settings: VoicePlaces
    env: dict[str, str]  # level 1 env: values from data (over .env.previous's when env_from_previous)
    env_from_previous: bool
    enable_providers: dict[str, bool]  # level 1 providers: provider -> enabled
    priorities: dict[str, int]  # level 1 providers: provider -> priority
    code_source: str  # level 2: backup | git (a converge run: the recorded source first, ``code_source``)
    backup_dir: str | None  # level 2: the backup directory asked for (None: the newest)
    ref: str | None  # level 2 with git: the ref
    image_tag: str  # level 3 on compose hosts
    recover: tuple | None  # (source target, prefix, dest target, prefix)
    target: str | None = None  # rolled_back | enabled; None: a converge run to the recorded state
    level: int | None = None  # the level a rollback or enable converges (voice_level); None: a converge run
    from_record: bool = False  # every unit converges to the host's recorded state
    public: frozenset[str] = frozenset()  # the env keys whose values travel (others: digests, ``facts``)
    salt_file: str = ""

    @property
    def levels(self) -> tuple[int, ...]:
        """The levels this run converges (a rollback or enable: its one level)."""
        return tuple(sorted({LEVEL_OF[unit] for unit in self.desired}))

    def describe(self) -> str:
        """``level 2 (code) rolled back``; a converge run: each unit's state."""
        if self.target is not None and self.level is not None:
            what = {1: "configuration", 2: "code", 3: "image tag" if self.settings.unit == "compose" else "virtualenv"}
            return f"level {self.level} ({what[self.level]}) {self.target.replace('_', ' ')}"
        return ", ".join(f"{unit} {state.replace('_', ' ')}" for unit, state in self.desired.items())


@dataclass(frozen=True)
class CodeSource:
    """Where level 2's code and requirements come from on this run."""

    kind: str  # backup | git
    backup_dir: str | None  # backup: the directory (None: the newest voice_v2_<YYYYMMDD> under backup_root)
    ref: str | None  # git: the ref or commit (None: none known)
    recorded: str = ""  # the source a rollback recorded, when this run restores it ('' otherwise)


def _s3(settings, bucket: str) -> s3.S3Target:
    return s3.S3Target(
        endpoint=settings.voice_s3_endpoint, bucket=bucket, region=settings.voice_s3_region,
        access_key=secret(settings.voice_s3_access_key_secret, settings, "recovering voice files"),
        secret_key=secret(settings.voice_s3_secret_key_secret, settings, "recovering voice files"))


def scope_of(settings) -> dict[str, str]:
    """What an approval of a rollback or enable binds: the level and the options that change what runs."""
    return {"voice_level": str(settings.voice_level),
            "voice_code_source": settings.voice_code_source,
            "voice_backup_dir": settings.voice_backup_dir or "newest",
            "voice_git_ref": settings.voice_git_ref or "none",
            "voice_previous_image_tag": settings.voice_previous_image_tag,
            "voice_image_registry": settings.voice_image_registry or "none",
            "voice_recover_files": "true" if settings.voice_recover_files else "false"}


def level_units(level: int, unit_type: str) -> tuple[str, ...]:
    """The units of one level on a kind of host (level 3: the image on compose hosts, the virtualenv on systemd)."""
    if level == 3:
        return ("image",) if unit_type == "compose" else ("venv",)
    return tuple(unit for unit, of in LEVEL_OF.items() if of == level)


def recorded_state(recorded: dict[str, str] | None, unit_type: str) -> dict[str, str]:
    """The units runs recorded that this kind of host has. A former one-unit-per-level record
    (``config``, ``system``) stands for its level's units until one of them is recorded; one of
    ``code`` and ``requirements`` recorded alone stands for both (one source restores them)."""
    recorded = recorded or {}
    known = {unit: state for unit, state in recorded.items() if unit in HOST_UNITS[unit_type] and state in STATES}
    for legacy, level in LEGACY.items():
        units = level_units(level, unit_type)
        if recorded.get(legacy) in STATES and not set(units) & set(known):
            known.update({unit: recorded[legacy] for unit in units})
    pair = [known[unit] for unit in CODE_UNITS if unit in known]
    if len(pair) == 1 and unit_type == "systemd":
        known.update({unit: pair[0] for unit in CODE_UNITS})
    return known


def declared_state(settings, unit_type: str) -> dict[str, str]:
    """The declared state of this kind of host's units; a virtualenv declared enabled is left alone (there
    is no current virtualenv to converge back to)."""
    states = {unit: settings.voice_declared_state[unit] for unit in HOST_UNITS[unit_type]}
    if unit_type == "systemd" and states["code"] != states["requirements"]:
        raise PreflightError("voice_declared_state: code and requirements differ (level 2 restores both from one "
                             "source: declare them alike)")
    return {unit: state for unit, state in states.items() if (unit, state) != ("venv", "enabled")}


def desired_state(settings, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges (a rollback or enable: ``voice_level``'s units; a converge run:
    every unit of the host's kind), and whether all of it comes from the host's record."""
    unit_type = settings.voice_unit
    if target is not None:
        return {unit: target for unit in level_units(settings.voice_level, unit_type)}, False
    return to_record(settings, recorded_state(recorded, unit_type), HOST_UNITS[unit_type],
                     lambda: declared_state(settings, unit_type))


def request_from(settings, desired: dict[str, str], target: str | None = None) -> VoiceRequest:
    """What a run converging ``desired`` (``target`` None: a converge run) does on a host with these settings;
    each unit's values follow its state. PreflightError names what the run may not do there."""
    places = places_of(VoicePlaces, settings, "voice_", base_url=settings.voice_base_url.rstrip("/"), service=(
        settings.voice_systemd_unit if settings.voice_unit == "systemd" else settings.voice_compose_service))

    def rolled_back(*units: str) -> bool:
        states = [desired[name] for name in units if name in desired]
        return (states[0] if states else target or "enabled") == "rolled_back"

    env_back, providers_back, code_back = rolled_back("env"), rolled_back("providers"), rolled_back(*CODE_UNITS)
    priorities = dict(settings.voice_provider_priorities if providers_back else settings.voice_current_providers)
    code_source = settings.voice_code_source if code_back else "git"
    ref = settings.voice_git_ref if code_back else settings.voice_current_ref
    # a converge run's rollback restores the source its rollback recorded: data's ref may be unset
    needs_ref = bool(set(CODE_UNITS) & set(desired)) and (target is not None or not code_back)
    if needs_ref and code_source == "git" and ref is None:
        key = "voice_git_ref" if code_back else "voice_current_ref"
        raise PreflightError(f"{key} is required for a level 2 {'rollback' if code_back else 'enable'} from git")
    recover = ((_s3(settings, settings.voice_backup_bucket), settings.voice_backup_prefix,
                _s3(settings, settings.voice_files_bucket), settings.voice_files_prefix)
               if target == "rolled_back" and settings.voice_recover_files else None)
    return VoiceRequest(
        desired={unit: desired[unit] for unit in LEVEL_OF if unit in desired}, settings=places,  # in level order
        env=dict(settings.voice_rolled_back_env if env_back else settings.voice_current_env),
        env_from_previous=env_back and settings.voice_env_source == "previous",
        enable_providers=(dict.fromkeys(settings.voice_disable_providers, False) if providers_back
                          else dict.fromkeys(priorities, True)), priorities=priorities, code_source=code_source,
        backup_dir=settings.voice_backup_dir, ref=ref if code_source == "git" else None,
        image_tag=settings.voice_previous_image_tag if rolled_back("image") else settings.voice_current_image_tag,
        recover=recover, target=target, level=settings.voice_level if target is not None else None,
        public=envfile.public_keys(settings), salt_file=f"{settings.rollbook_state_dir}/private/env-digest.salt",
    )


def recorded_source(value: str | None) -> CodeSource | None:
    """A level-2 source a rollback recorded (a backup directory or a commit), None; ValueError when neither."""
    if not value:
        return None
    if BACKUP_DIR.match(value):
        return CodeSource("backup", value, None, recorded=value)
    if REF.match(value) and ".." not in value:
        return CodeSource("git", None, value, recorded=value)
    raise ValueError(f"the recorded level 2 source {value!r} is neither a backup directory nor a git ref")


def code_source(request: VoiceRequest, sources: dict[str, str] | None) -> CodeSource:
    """Level 2's source: the one a rollback recorded (``sources["code"]``) for a converge run to rolled_back;
    otherwise data's (``voice_backup_dir`` or ``voice_git_ref``; an enable's ``voice_current_ref``)."""
    recorded = None
    if request.target is None and request.desired.get("code") == "rolled_back":
        with suppress(ValueError):  # an unusable record: levels.Code.refusal says why
            recorded = recorded_source((sources or {}).get("code"))
    return recorded or CodeSource(request.code_source, request.backup_dir, request.ref)


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
