"""The voice-v2 ``@deploy``: preflight from host data, one state fact, the level's steps (``_level_1``
configuration, ``_level_2`` code, ``_level_3`` image tag or virtualenv), the restart, voice-file
recovery on request, the verification, the record (see the package docstring)."""

from pyinfra import host, logger
from pyinfra.api import deploy

from ... import pipeline
from ...host import envfile, files, s3, service, verify
from ...host.shell import http_ok
from ...preflight import PreflightError
from . import operations as voice_ops
from .checks import judge
from .facts import VoiceEffect, VoiceHost
from .request import GROUP, LEVELS, SYSTEM, providers_text, request_from, scope_of, sha256

_recover_counts: dict[tuple, int | None] = {}


def _recover_count(recover) -> int | None:
    """Objects to copy, counted once per run (None: S3 did not answer, said once)."""
    source, source_prefix, dest, dest_prefix = recover
    key = (source.endpoint, source.bucket, source_prefix, dest.bucket, dest_prefix)
    if key not in _recover_counts:
        try:
            _recover_counts[key] = len(s3.plan_copy(source, source_prefix, dest, dest_prefix))
        except s3.S3Error as error:
            logger.warning(str(error))
            _recover_counts[key] = None
    return _recover_counts[key]


def _level_1(request, state, run, steps, public) -> tuple[dict, dict, list[str]]:
    settings = request.settings
    env, copied = dict(request.env), ()
    if request.env_from_previous:
        if state.previous is None:
            pipeline.refuse(run, f"{settings.env_previous} not found (the known-good configuration)")
        env = {**state.previous, **request.env}  # .env.previous's values arrive hidden: copied on the host
        copied = tuple(sorted(set(state.previous) - set(request.env)))
    try:
        envfile.check_managed(request.env)  # only values from data are written as they are
    except ValueError as error:
        pipeline.refuse(run, f"voice_*_env: {error}")
    try:
        text, document = providers_text(state.providers, request, f"{host.name}:{settings.providers_file}")
    except PreflightError as error:
        pipeline.refuse(run, str(error))
    run.changes = envfile.describe(envfile.plan_changes(state.env_file, env), public)
    steps.append(envfile.keys(name=f"Converge {settings.env_file} to the known-good configuration",
                              path=settings.env_file, current=state.env_file, target=env,
                              backup_keep=request.backup_keep, public=public, source=settings.env_previous,
                              copied=copied))
    steps.append(files.content(name=f"Set the provider settings in {settings.providers_file}",
                               path=settings.providers_file, current=state.providers, text=text,
                               backup_keep=request.backup_keep))
    reasons = [] if state.running is not None else ["not running"]
    if state.running is not None:
        reasons += [f"running process holds {key}={envfile.shown(key, state.running.get(key), public)}"
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
    pipeline.preflight()  # unknown keys, security overrides, types: before any host command
    data = host.data
    request = request_from(data, target)  # bad input fails before any host is touched
    settings = request.settings
    # env values never travel: only rollbook_public_env_keys' arrive, and a key set from data only when it holds
    # data's value; every other value arrives as a digest under the host's salt (compared, copied on the host)
    public, salt_file = envfile.public_keys(data), f"{pipeline.state_dir()}/private/env-digest.salt"
    state = host.get_fact(VoiceHost, settings=settings, recorded_file=f"{pipeline.state_dir()}/state.json",
                          public=public, salt_file=salt_file, targets=request.env,
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
        expected_env, expected_providers, reasons = _level_1(request, state, run, steps, public)
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
                         image_tag=request.image_tag if request.level == 3 else None,
                         public=public, salt_file=salt_file, targets=request.env),
        judge=judge(request, expected_env, expected_providers, code, public), system=SYSTEM,
    )
    pipeline.finish(run, changed=any(step.will_change for step in steps))
