"""voice-v2: the runbook's three rollback levels, voice-file recovery, and proof.

Specification: runbook ``003…voice-v2.md``. One level per run (``--data voice_level=1|2|3``,
default 1); levels do not include each other::

    pyinfra inventories/prod.py deploys/voice_v2_rollback.py                       # level 1: .env + providers
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=2  # code from the newest backup
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=3  # image tag / virtualenv
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_recover_files=true
    pyinfra inventories/prod.py deploys/voice_v2_enable.py --data voice_level=2    # back to the current release

- level 1: ``.env`` converges to ``.env.previous`` (or ``voice_rolled_back_env``), backed up first;
  the provider settings file: providers in ``voice_disable_providers`` disabled, priorities from
  ``voice_provider_priorities``; restart when the running process differs.
- level 2 (systemd hosts): ``app/services/voice_v2`` from a backup directory (the replaced tree kept
  as ``voice_v2.failed.<stamp>``) and its ``requirements.txt`` installed into the virtualenv; or a
  known-good git ref (``voice_code_source=git``).
- level 3: compose hosts swap the image tag to ``voice_previous_image_tag``; systemd hosts restore
  the virtualenv from its backup copy.
"""

import hashlib
import json
import re
from dataclasses import dataclass

from pyinfra import host, logger
from pyinfra.api import deploy

from .. import envfile, pipeline, s3_sync
from ..facts.voice_v2 import VoiceEffect, VoiceHost, VoiceSettings
from ..operations import envfile as env_ops
from ..operations import files, service, verify
from ..operations import voice_v2 as voice_ops
from ..preflight import PreflightError, boolean, choice, positive_int, require
from ..secrets import secret
from ..shell import http_ok

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


def _s3(data, bucket_key: str) -> s3_sync.S3Target:
    endpoint = data.get("voice_s3_endpoint")
    return s3_sync.S3Target(
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


def p95(values: list[float]) -> float:
    """The runbook's 95th percentile: ``sorted(times)[int(len(times) * 0.95)]``."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)] if ordered else 0.0


def judge(request: VoiceRequest, expected_env: dict[str, str], expected_providers: dict | None,
          code: tuple[str, str] | None):
    """The runbook's post-rollback validation, plus the level's own effect."""

    def checks(seen) -> list[tuple[bool, str]]:
        status = seen.health.get("status")
        result = [(seen.health_code == 200 and status == "healthy", f"/health {seen.health_code} {status}")]
        running = seen.running or {}
        wrong = [f"{key}={envfile.shown(key, running.get(key))} (want {envfile.shown(key, value)})"
                 for key, value in expected_env.items() if running.get(key) != value]
        if expected_env:
            result.append((seen.running is not None and not wrong,
                           f"process environment holds the {len(expected_env)} target values" if not wrong
                           else f"process environment differs: {', '.join(wrong)}"))
        if expected_providers is not None:
            shown = {kind: {name: {"enabled": entry.get("enabled"), "priority": entry.get("priority")}
                            for name, entry in (seen.providers.get(kind) or {}).items()} for kind in KINDS}
            want = {kind: {name: {"enabled": entry.get("enabled"), "priority": entry.get("priority")}
                           for name, entry in expected_providers[kind].items()} for kind in KINDS}
            result.append((shown == want, "service reads the target provider settings" if shown == want
                           else f"service reads other provider settings: {shown}"))
        if code is not None:
            tree, requirements = code
            ok = seen.health.get("code") == tree and seen.health.get("requirements") == requirements
            result.append((ok, f"running code {str(seen.health.get('code'))[:12]} and requirements "
                               f"{str(seen.health.get('requirements'))[:12]}"
                               + ("" if ok else f" (want {tree[:12]} and {requirements[:12]})")))
        if seen.image is not None:
            ok = bool(seen.image.target_id) and seen.image.running_id == seen.image.target_id
            result.append((ok, f"container runs {request.settings.image}:{request.image_tag} "
                               f"({seen.image.running_id[:19] or 'nothing'})"
                               + ("" if ok else f", want {seen.image.target_id[:19] or 'a present image'}")))
        enabled = {kind: [name for name, entry in (seen.providers.get(kind) or {}).items() if entry.get("enabled")]
                   for kind in KINDS}
        failed = seen.providers.get("failed_providers")
        ok = seen.providers_code == 200 and failed == [] and all(enabled.values())
        result.append((ok, "every enabled provider connected (" + "; ".join(
            f"{kind}: {', '.join(enabled[kind]) or 'none enabled'}" for kind in KINDS) + ")"
            + ("" if failed in ([], None) else f"; not connected: {', '.join(failed)}")))
        for kind, answer, code_ in (("STT", seen.stt, seen.stt_code), ("TTS", seen.tts, seen.tts_code)):
            result.append((code_ == 200 and answer.get("ok") is True,
                           f"{kind} smoke request {code_} via {answer.get('provider') or answer.get('error')}"))
        latencies = seen.latencies
        average = sum(latencies) / len(latencies) if latencies else 0.0
        ok = bool(latencies) and not seen.latency_failures and average < request.latency_avg \
            and p95(latencies) < request.latency_p95
        result.append((ok, f"TTS latency over {len(latencies)} request(s): average {average:.3f}s "
                           f"(< {request.latency_avg:g}s), p95 {p95(latencies):.3f}s (< {request.latency_p95:g}s)"
                           + (f", {seen.latency_failures} failed" if seen.latency_failures else "")))
        memory = seen.memory_mb
        result.append((memory is not None and memory < request.memory_mb,
                       f"service memory {memory if memory is not None else 'unknown'} MB "
                       f"(< {request.memory_mb:g} MB)"))
        return result

    return checks


_recover_counts: dict[tuple, int | None] = {}


def _recover_count(recover) -> int | None:
    """Objects to copy, counted once per run (None: S3 did not answer, said once)."""
    source, source_prefix, dest, dest_prefix = recover
    key = (source.endpoint, source.bucket, source_prefix, dest.bucket, dest_prefix)
    if key not in _recover_counts:
        try:
            _recover_counts[key] = len(s3_sync.plan_copy(source, source_prefix, dest, dest_prefix))
        except s3_sync.S3Error as error:
            logger.warning(str(error))
            _recover_counts[key] = None
    return _recover_counts[key]


def _level_1(request, state, run, steps) -> tuple[dict, dict, list[str]]:
    settings = request.settings
    env = dict(request.env)
    if request.env_from_previous:
        if state.previous is None:
            pipeline.refuse(run, f"{settings.env_previous} not found (the known-good configuration)")
        env = {**state.previous, **request.env}
    try:
        envfile.check_managed(env)
    except ValueError as error:
        pipeline.refuse(run, f"{settings.env_previous if request.env_from_previous else 'voice_*_env'}: {error}")
    try:
        text, document = providers_text(state.providers, request, f"{host.name}:{settings.providers_file}")
    except PreflightError as error:
        pipeline.refuse(run, str(error))
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, env))
    steps.append(env_ops.keys(name=f"Converge {settings.env_file} to the known-good configuration",
                              path=settings.env_file, current=state.env_file, target=env,
                              backup_keep=request.backup_keep))
    steps.append(files.content(name=f"Set the provider settings in {settings.providers_file}",
                               path=settings.providers_file, current=state.providers, text=text,
                               backup_keep=request.backup_keep))
    reasons = [] if state.running is not None else ["not running"]
    if state.running is not None:
        reasons += [f"running process holds {key}={envfile.shown(key, state.running.get(key))}"
                    for key, value in env.items() if state.running.get(key) != value]
        if state.running_providers != sha256(text):
            reasons.append("running process read other provider settings")
    return env, document, reasons


def _level_2(request, state, run, steps) -> tuple[tuple[str, str], list[str]]:
    settings, code = request.settings, state.code
    if settings.unit != "systemd":
        pipeline.refuse(run, "level 2 (code) needs a systemd host; a compose host's code is its image: "
                             "use voice_level=3 (or --limit the systemd hosts)")
    if not code.source:
        if request.ref is not None:
            pipeline.refuse(run, f"unknown git ref {request.ref!r} in {settings.app_dir}")
        pipeline.refuse(run, f"backup directory {request.backup_dir} not found" if request.backup_dir
                        else f"no backup directory {request.backup_root}/voice_v2_<YYYYMMDD> found")
    if code.target == "missing":
        pipeline.refuse(run, f"{code.source} has no {settings.code_dir}")
    if code.target_requirements == "missing":
        pipeline.refuse(run, f"{code.source} has no requirements.txt")
    tree = f"{settings.app_dir}/{settings.code_dir}"
    requirements = f"{settings.app_dir}/requirements.txt"
    if request.ref is not None:
        clean = code.head == code.source and code.tree == code.target and code.requirements == code.target_requirements
        steps.append(voice_ops.checked_out_clean(
            name=f"Check out the known-good ref {request.ref}", checkout=settings.app_dir, ref=request.ref,
            commit=code.source, paths=[settings.code_dir + "/", "requirements.txt"], clean=clean,
            keep=tree if code.tree not in (code.target, "missing") else ""))
    else:
        steps.append(voice_ops.tree_restored(
            name=f"Restore {settings.code_dir} from {code.source}", path=tree,
            source=f"{code.source}/{settings.code_dir}", current=code.tree, target=code.target))
        steps.append(voice_ops.file_restored(
            name=f"Restore requirements.txt from {code.source}", path=requirements,
            source=f"{code.source}/requirements.txt", current=code.requirements, target=code.target_requirements,
            backup_keep=request.backup_keep))
    steps.append(voice_ops.requirements_installed(
        name=f"Install requirements.txt into {settings.venv}", venv=settings.venv, requirements=requirements,
        installed=code.installed, target=code.target_requirements, pip_args=settings.pip_args))
    run.changes = [f"code {code.tree[:12]} -> {code.target[:12]} ({code.source})"] if code.tree != code.target else []
    reasons = [] if state.running is not None else ["not running"]
    if state.running is not None and state.running_code != code.target:
        reasons.append(f"running code {state.running_code[:12] or '?'} is not {code.target[:12]}")
    if state.running is not None and state.running_requirements != code.target_requirements:
        reasons.append("running process was started before the requirements were installed")
    return (code.target, code.target_requirements), reasons


def _level_3(request, state, run, steps) -> list[str]:
    settings = request.settings
    reasons = [] if state.running is not None else ["not running"]
    if settings.unit == "compose":
        image = state.image
        if not image.target_id:
            pipeline.refuse(run, f"image {settings.image}:{request.image_tag} is not present on the host")
        if not image.file_tag:
            pipeline.refuse(run, f"{settings.compose_file} names no {settings.image}:<tag> image")
        steps.append(voice_ops.image_tag_set(
            name=f"Set the image {settings.image}:{request.image_tag} in {settings.compose_file}",
            compose_file=settings.compose_file, image=settings.image, current=image.file_tag, tag=request.image_tag,
            backup_keep=request.backup_keep))
        run.changes = [f"image {settings.image}:{image.file_tag} -> {settings.image}:{request.image_tag}"] \
            if image.file_tag != request.image_tag else []
        if state.running is not None and image.running_id != image.target_id:
            reasons.append(f"container runs {image.running_id[:19]}, not {settings.image}:{request.image_tag}")
        return reasons
    if request.target == "enabled":
        pipeline.refuse(run, "a level 3 enable on a systemd host has no current virtualenv to converge back to")
    venv = state.venv
    if venv.backup == "missing":
        pipeline.refuse(run, f"virtualenv backup {settings.venv_backup} not found")
    step = voice_ops.venv_restored(name=f"Restore {settings.venv} from {settings.venv_backup}", venv=settings.venv,
                                   source=settings.venv_backup, current=venv.tree, target=venv.backup)
    steps.append(step)
    run.changes = [f"virtualenv {venv.tree[:12]} -> {venv.backup[:12]}"] if venv.tree != venv.backup else []
    if state.running is not None and (step.will_change or venv.changed_at > state.started):
        reasons.append("running process started before the virtualenv was restored")
    return reasons


@deploy("voice_v2")
def voice_v2(target: str):
    """
    Converge voice-v2 at the level ``voice_level`` to ``target`` (``rolled_back`` or ``enabled``),
    recover voice files when asked, verify the service, record the run.

    Example:

    .. code:: python

        from rollbook.systems.voice_v2 import voice_v2
        voice_v2(target="rolled_back")
    """
    if GROUP not in host.groups:
        return
    data = host.data
    request = request_from(data, target)  # bad input fails before any host is touched
    settings = request.settings
    state = host.get_fact(VoiceHost, settings=settings, recorded_file=f"{pipeline.state_dir()}/state.json",
                          level=request.level, backup=request.backup_dir, backup_root=request.backup_root,
                          ref=request.ref if request.level == 2 else None,
                          image_tag=request.image_tag if request.level == 3 else None)
    unit = LEVELS[request.level]
    run = pipeline.begin(SYSTEM, kind=pipeline.run_kind(target, data),
                         scope=scope_of(data),
                         units_before=state.recorded, units_after={**state.recorded, unit: request.target})
    if state.env_file is None:
        pipeline.refuse(run, f"{settings.env_file} not found")

    steps, expected_env, expected_providers, code = [], {}, None, None
    if request.level == 1:
        expected_env, expected_providers, reasons = _level_1(request, state, run, steps)
    elif request.level == 2:
        code, reasons = _level_2(request, state, run, steps)
    else:
        reasons = _level_3(request, state, run, steps)
    restore = service.Restore(env_file=settings.env_file, keys=tuple(sorted(expected_env)),
                              marker=run.restored_marker) if request.level == 1 else None  # the env file changed
    steps.append(service.restarted(
        name=f"Restart {settings.service} so the process runs the target", unit=settings.unit,
        service=settings.service, project_dir=settings.app_dir, reasons=reasons,
        ready=http_ok(settings.base_url + "/health", request.health_timeout), restore=restore))
    if request.recover:
        count = _recover_count(request.recover)
        source, source_prefix, dest, dest_prefix = request.recover
        steps.append(voice_ops.files_recovered(
            name="Recover voice files from the backup bucket (missing or differing only)", source=source,
            source_prefix=source_prefix, dest=dest, dest_prefix=dest_prefix, count=count, _run_once=True))
        run.cleanup["voice_files_to_copy"] = count
    verify.verified(
        name="Verify the voice-v2 service", what=f"voice-v2 {request.describe()}", fact=VoiceEffect,
        fact_kwargs=dict(settings=settings, health_timeout=request.health_timeout,
                         latency_requests=request.latency_requests,
                         image_tag=request.image_tag if request.level == 3 else None),
        judge=judge(request, expected_env, expected_providers, code), system=SYSTEM,
    )
    pipeline.finish(run, changed=any(step.will_change for step in steps))
