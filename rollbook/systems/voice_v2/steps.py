"""voice-v2's stages (runbook 003), run by ``rollbook.pipeline.run``; a rollback or enable converges one
level, a converge run every recorded unit (possibly several levels at once)::

    refusal   what each level needs on this host (.env.previous, usable provider settings, a backup or git
              ref, a systemd host for code, the image on the host, the virtualenv's backup copy)
    converge  level 1: ``.env`` and the provider settings; level 2: the code tree and its requirements;
              level 3: the compose file's image tag, or the virtualenv from its backup copy
    apply     one restart when the running process differs from any level's target
    verify    /health, the process environment and provider settings, the running code or image,
              providers connected, STT and TTS smoke requests, latency and memory
    cleanup   voice files recovered from the backup bucket, on request (missing or differing only)

Each level is three functions of the ``Context`` alone (no host command): ``_level_N_refusal``
(why not), ``_level_N_steps`` (what it changes: converge) and ``_level_N_reasons`` (why the
process must restart: apply), so the hooks stay separate calls that agree. Within a level, each
unit converges only when the run converges it (``request.desired``).

Recorded per unit (``units``), and beside the units the level-2 source a rollback restored
(``sources``: ``{"code": "/backup/voice_v2_20251101"}`` or the git commit), so a converge run
restores the same one (``request.code_source``).
"""

from dataclasses import dataclass, replace

from pyinfra import host, logger

from ...host import envfile, files, s3, service, verify
from ...host.shell import http_ok
from ...pipeline import Context, Stage, Stages
from ...core.preflight import PreflightError
from . import operations as voice_ops
from .checks import judge
from .facts import VoiceEffect, VoiceHost, VoiceRecorded
from .request import (CODE_UNITS, GROUP, LEVEL_OF, SYSTEM, VoiceRequest, code_source, desired_state, providers_text, recorded_source, request_from, scope_of)


class VoiceStages(Stages):
    name, group = SYSTEM, GROUP

    def request(self, settings, target, recorded) -> VoiceRequest:
        desired, from_record = desired_state(settings, target, recorded or {})
        made = request_from(settings, desired, target)
        # env values never travel: only rollbook_public_env_keys' arrive, and a key set from settings only when it holds
        # settings's value; every other value arrives as a digest under the host's salt (compared, copied on the host)
        return replace(made, from_record=from_record, public=envfile.public_keys(settings),
                       salt_file=f"{settings.rollbook_state_dir}/private/env-digest.salt")

    def inspect(self, request: VoiceRequest, settings):
        recorded_file, sources = f"{settings.rollbook_state_dir}/state.json", {}
        if request.target is None:  # a converge run: its units and level-2 source come from the record, read first
            recorded = host.get_fact(VoiceRecorded, recorded_file=recorded_file)
            request, sources = self.request(settings, None, recorded.units), recorded.sources
        levels, source = request.levels, code_source(request, sources)
        return host.get_fact(VoiceHost, settings=request.settings, recorded_file=recorded_file,
                             public=request.public, salt_file=request.salt_file, targets=request.env,
                             level=levels[0] if len(levels) == 1 else levels, backup=source.backup_dir,
                             backup_root=request.backup_root, ref=source.ref if 2 in levels else None,
                             image_tag=request.image_tag if 3 in levels else None)

    def scope(self, settings, request: VoiceRequest, target) -> dict:
        if target is not None:
            return scope_of(settings)
        return {"voice_desired": ",".join(f"{unit}={state}" for unit, state in request.desired.items())}

    def units(self, request: VoiceRequest, state) -> dict[str, str]:
        return dict(request.desired)

    def sources(self, request: VoiceRequest, state) -> dict[str, str]:
        """Recorded beside the units: the level-2 source a rollback restored (the backup directory, or
        the git commit checked out), so a converge run restores the same one."""
        if request.desired.get("code") == "rolled_back" and state.code is not None and state.code.source:
            return {"code": state.code.source}
        return {}

    def differing(self, ctx: Context) -> list[str]:
        """env and providers when the file or the running process holds other values; the code units
        (code, requirements) and the runtime (image or venv) when their level finds the process stale."""
        request, state, levels = ctx.request, ctx.state, ctx.request.levels
        differ = []
        if 1 in levels:
            config = _config(ctx)
            if "env" in request.desired and (_copies_previous(ctx) or any(
                    values.get(key) != value for values in (state.env_file or {}, state.running or {})
                    for key, value in config.env.items())):
                differ.append("env")
            if "providers" in request.desired and (state.providers != config.providers or state.providers_stale):
                differ.append("providers")
        stale = {2: _level_2_reasons, 3: _level_3_reasons}
        for level, reasons in stale.items():
            if level in levels and reasons(ctx):
                differ += [unit for unit in request.desired if LEVEL_OF[unit] == level]
        return differ

    def refusal(self, ctx: Context) -> str:
        if ctx.state.env_file is None:
            return f"{ctx.request.settings.env_file} not found"
        if ctx.state.misshapen and "env" in ctx.request.desired:
            return envfile.shape_refusal(ctx.request.settings.env_file, ctx.state.misshapen)
        levels = ctx.request.levels
        return (1 in levels and _level_1_refusal(ctx)) or (2 in levels and _level_2_refusal(ctx)) or \
            (3 in levels and _level_3_refusal(ctx)) or ""

    def converge(self, ctx: Context) -> Stage:
        levels, stage = ctx.request.levels, Stage()
        if 1 in levels:
            _add(stage, _level_1_steps(ctx))
        if 2 in levels:
            _add(stage, _level_2_steps(ctx))
        if 3 in levels:
            _add(stage, _level_3_steps(ctx))
        return stage

    def apply(self, ctx: Context) -> Stage:
        request, settings = ctx.request, ctx.request.settings
        levels = request.levels
        reasons = ((_level_1_reasons(ctx) if 1 in levels else []) + (_level_2_reasons(ctx) if 2 in levels else [])
                   + (_level_3_reasons(ctx) if 3 in levels else []))
        restore = service.Restore(
            env_file=settings.env_file if "env" in request.desired else "",
            keys=tuple(sorted(_config(ctx).env)) if "env" in request.desired else (),
            marker=ctx.run.restored_marker, started=ctx.run.started_marker, also=_changed_paths(request))
        return Stage(steps=[service.restarted(
            name=f"Restart {settings.service} so the process runs the target", unit=settings.unit,
            service=settings.service, project_dir=settings.app_dir, reasons=list(dict.fromkeys(reasons)),
            ready=http_ok(settings.base_url + "/health", request.health_timeout), restore=restore)])

    def verify(self, ctx: Context) -> None:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        config = _config(ctx) if 1 in request.levels else ConfigTarget({}, (), None, None)
        code = (state.code.target, state.code.target_requirements) if 2 in request.levels else None
        venv = "venv" in request.desired and settings.unit == "systemd"
        verify.verified(
            name="Verify the voice-v2 service", what=f"voice-v2 {request.describe()}", fact=VoiceEffect,
            fact_kwargs=dict(settings=settings, health_timeout=request.health_timeout,
                             latency_requests=request.latency_requests,
                             image_tag=request.image_tag if "image" in request.desired else None,
                             public=request.public, salt_file=request.salt_file, targets=request.env,
                             code=code is not None, venv=venv, validation_timeout=request.validation_timeout),
            judge=judge(request, config.env, config.document, code, request.public, venv=venv), system=SYSTEM)

    def cleanup(self, ctx: Context) -> Stage:
        request = ctx.request
        if not request.recover:
            return Stage()
        count = _recover_count(request.recover)
        source, source_prefix, dest, dest_prefix = request.recover
        return Stage(
            steps=[voice_ops.files_recovered(
                name="Recover voice files from the backup bucket (missing or differing only)", source=source,
                source_prefix=source_prefix, dest=dest, dest_prefix=dest_prefix, count=count, _run_once=True)],
            cleanup={"voice_files_to_copy": count})


def _changed_paths(request: VoiceRequest) -> tuple[str, ...]:
    """What the run's converge may replace besides the env file, each kept first as
    ``<path>.backup.<stamp>``: what a service that does not start gets back."""
    settings, units = request.settings, request.desired
    paths = []
    if "providers" in units:
        paths.append(settings.providers_file)
    if set(CODE_UNITS) & set(units):
        paths += [f"{settings.app_dir}/{settings.code_dir}", f"{settings.app_dir}/requirements.txt", settings.venv]
    if "venv" in units and settings.unit == "systemd" and settings.venv not in paths:
        paths.append(settings.venv)
    if "image" in units and settings.unit == "compose":
        paths.append(settings.compose_file)
    return tuple(paths)


def _add(stage: Stage, level: Stage):
    stage.steps += level.steps
    stage.changes += level.changes
    stage.cleanup.update(level.cleanup)


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


# --- level 1: .env and the provider settings ---------------------------------------------------------


@dataclass(frozen=True)
class ConfigTarget:
    """What a level-1 run converges to, from the request and the host's state."""

    env: dict[str, str]  # the env file's target ({}: env not converged; .env.previous's values arrive hidden)
    copied: tuple[str, ...]  # the keys whose values come from .env.previous
    providers: str | None  # the provider settings file's text (None: providers not converged)
    document: dict | None  # the provider settings


def _config(ctx: Context) -> ConfigTarget:
    """Level 1's target, for the units the run converges (env, providers); ``_level_1_refusal`` has ruled
    out a missing .env.previous and unusable settings."""
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    env, copied, text, document = {}, (), None, None
    if "env" in request.desired:
        env = dict(request.env)
        if request.env_from_previous:
            env = {**state.previous, **request.env}
            copied = tuple(sorted(set(state.previous) - set(request.env)))
    if "providers" in request.desired:
        text, document = providers_text(state.providers, request, f"{host.name}:{settings.providers_file}")
    return ConfigTarget(env=env, copied=copied, providers=text, document=document)


def _level_1_refusal(ctx: Context) -> str:
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    if "env" in request.desired:
        if request.env_from_previous and state.previous is None:
            return f"{settings.env_previous} not found (the known-good configuration)"
        try:
            envfile.check_managed(request.env)  # only values from data are written as they are
        except ValueError as error:
            return f"voice_*_env: {error}"
    if "providers" in request.desired:
        try:
            providers_text(state.providers, request, f"{host.name}:{settings.providers_file}")
        except PreflightError as error:
            return str(error)
    return ""


def _level_1_steps(ctx: Context) -> Stage:
    request, state, settings, public = ctx.request, ctx.state, ctx.request.settings, ctx.request.public
    config, stage = _config(ctx), Stage()
    if "env" in request.desired:
        current = state.env_file
        if _copies_previous(ctx):  # the runbook's `cp .env.previous .env`, on the host, then data's values on top
            stage.steps.append(files.copied(
                name=f"Copy {settings.env_previous} over {settings.env_file}", path=settings.env_file,
                source=settings.env_previous, same=state.env_matches_previous, backup_keep=request.backup_keep,
                root=settings.app_dir))
            stage.changes.append(f"{settings.env_file}: copy of {settings.env_previous}")
            current = state.previous
        stage.steps.append(envfile.keys(
            name=f"Converge {settings.env_file} to the known-good configuration", path=settings.env_file,
            current=current, target=config.env, backup_keep=request.backup_keep, public=public,
            source=settings.env_previous, copied=config.copied, root=settings.app_dir))
        stage.changes += envfile.describe(envfile.plan_changes(current, config.env), public)
    if "providers" in request.desired:
        stage.steps.append(files.content(
            name=f"Set the provider settings in {settings.providers_file}", path=settings.providers_file,
            current=state.providers, text=config.providers, backup_keep=request.backup_keep, root=settings.app_dir))
    return stage


def _copies_previous(ctx: Context) -> bool:
    """Whether .env becomes a copy of .env.previous first: the known-good .env is .env.previous
    (``voice_env_source=previous``) and .env differs from it in more than data's keys."""
    return bool(ctx.request.env_from_previous and ctx.state.previous is not None
                and ctx.state.env_matches_previous is False)


def _level_1_reasons(ctx: Context) -> list[str]:
    state, public = ctx.state, ctx.request.public
    if state.running is None:
        return ["not running"]
    config = _config(ctx)
    reasons = [f"running process holds {key}={envfile.shown(key, state.running.get(key), public)}"
               for key, value in config.env.items() if state.running.get(key) != value]
    if config.providers is not None and state.providers != config.providers:
        reasons.append("the provider settings change")
    elif config.providers is not None and state.providers_stale:
        reasons.append("running process started before the provider settings last changed")
    return reasons


# --- level 2: the code tree and its requirements (systemd hosts) -------------------------------------


def _level_2_refusal(ctx: Context) -> str:
    request, code, settings = ctx.request, ctx.state.code, ctx.request.settings
    if settings.unit != "systemd":
        return ("level 2 (code) needs a systemd host; a compose host's code is its image: "
                "use voice_level=3 (or --limit the systemd hosts)")
    states = {unit: request.desired[unit] for unit in CODE_UNITS if unit in request.desired}
    if len(set(states.values())) > 1:
        return (f"code and requirements are recorded as {states['code']} and {states['requirements']}: level 2 "
                "restores both from one source; run a level 2 rollback or enable")
    if request.target is None and request.desired.get("code") == "rolled_back":
        try:
            recorded_source(ctx.state.sources.get("code"))
        except ValueError as error:
            return f"{error}: run a level 2 rollback"
    source = code_source(request, ctx.state.sources)
    if source.kind == "git" and source.ref is None:
        return ("no level 2 source recorded to restore, and voice_git_ref is unset (voice_code_source=git): "
                "run a level 2 rollback, or set voice_git_ref")
    if not code.source:
        if source.ref is not None:
            return f"unknown git ref {source.ref!r} in {settings.app_dir}" + \
                (" (the recorded level 2 source)" if source.recorded else "")
        return (f"backup directory {source.backup_dir} not found" if source.backup_dir
                else f"no backup directory {request.backup_root}/voice_v2_<YYYYMMDD> found")
    if code.target == "missing":
        return f"{code.source} has no {settings.code_dir}"
    if code.target_requirements == "missing":
        return f"{code.source} has no requirements.txt"
    return ""


def _level_2_steps(ctx: Context) -> Stage:
    request, code, settings = ctx.request, ctx.state.code, ctx.request.settings
    source = code_source(request, ctx.state.sources)
    tree = f"{settings.app_dir}/{settings.code_dir}"
    requirements = f"{settings.app_dir}/requirements.txt"
    stage = Stage(changes=[f"code {code.tree[:12]} -> {code.target[:12]} ({code.source})"]
                  if code.tree != code.target else [])
    if source.kind == "git":
        clean = code.head == code.source and code.tree == code.target and code.requirements == code.target_requirements
        keep = [path for path, same in ((tree, code.tree in (code.target, "missing")),
                                        (requirements, code.requirements in (code.target_requirements, "missing")))
                if not same]
        stage.steps.append(voice_ops.checked_out_clean(
            name=f"Check out the known-good ref {source.ref}", checkout=settings.app_dir, ref=source.ref,
            commit=code.source, paths=[settings.code_dir + "/", "requirements.txt"], clean=clean, keep=keep,
            backup_keep=request.backup_keep))
    else:
        stage.steps.append(voice_ops.tree_restored(
            name=f"Restore {settings.code_dir} from {code.source}", path=tree,
            source=f"{code.source}/{settings.code_dir}", current=code.tree, target=code.target,
            backup_keep=request.backup_keep))
        stage.steps.append(voice_ops.file_restored(
            name=f"Restore requirements.txt from {code.source}", path=requirements,
            source=f"{code.source}/requirements.txt", current=code.requirements, target=code.target_requirements,
            backup_keep=request.backup_keep))
    stage.steps.append(voice_ops.requirements_installed(
        name=f"Install requirements.txt into {settings.venv}", venv=settings.venv, requirements=requirements,
        installed=code.installed, target=code.target_requirements, pip_args=settings.pip_args,
        backup_keep=request.backup_keep))
    return stage


def _level_2_reasons(ctx: Context) -> list[str]:
    state, code = ctx.state, ctx.state.code
    if state.running is None:
        return ["not running"]
    reasons = []
    if code.tree != code.target:
        reasons.append(f"the code changes ({code.tree[:12]} -> {code.target[:12]})")
    if code.installed != code.target_requirements:
        reasons.append("the requirements to install change")
    if code.changed > state.started:
        reasons.append("running process started before its code, requirements or virtualenv last changed")
    return reasons


# --- level 3: the image tag (compose hosts) or the virtualenv (systemd hosts) -------------------------


def _level_3_refusal(ctx: Context) -> str:
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    if settings.unit == "compose":
        if not state.image.target_id and not request.image_registry:
            return (f"image {settings.image}:{request.image_tag} is not present on the host, and "
                    "voice_image_registry is unset (nowhere to pull it from)")
        if not state.image.file_tag:
            return f"{settings.compose_file} names no {settings.image}:<tag> image"
        return ""
    if request.desired.get("venv") == "enabled":
        return "a level 3 enable on a systemd host has no current virtualenv to converge back to"
    if state.venv.backup == "missing":
        return f"virtualenv backup {settings.venv_backup} not found"
    return ""


def _level_3_steps(ctx: Context) -> Stage:
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    if settings.unit == "compose":
        image, wanted = state.image, f"{settings.image}:{request.image_tag}"
        pull = [] if image.target_id else [f"pull {request.image_registry}/{wanted}"]
        return Stage(
            steps=[voice_ops.image_pulled(
                name=f"Pull {wanted} from {request.image_registry or 'its registry'} when the host lacks it",
                image=settings.image, tag=request.image_tag, registry=request.image_registry or "",
                present=bool(image.target_id)),
                voice_ops.image_tag_set(
                name=f"Set the image {wanted} in {settings.compose_file}",
                compose_file=settings.compose_file, image=settings.image, current=image.file_tag,
                tag=request.image_tag, backup_keep=request.backup_keep)],
            changes=pull + ([f"image {settings.image}:{image.file_tag} -> {wanted}"]
                            if image.file_tag != request.image_tag else []))
    venv = state.venv
    return Stage(
        steps=[voice_ops.venv_restored(
            name=f"Restore {settings.venv} from {settings.venv_backup}", venv=settings.venv,
            source=settings.venv_backup, current=venv.tree, target=venv.backup, backup_keep=request.backup_keep)],
        changes=[f"virtualenv {venv.tree[:12]} -> {venv.backup[:12]}"] if venv.tree != venv.backup else [])


def _level_3_reasons(ctx: Context) -> list[str]:
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    if state.running is None:
        return ["not running"]
    if settings.unit == "compose":
        image = state.image
        return [f"container runs {image.running_id[:19]}, not {settings.image}:{request.image_tag}"] \
            if image.running_id != image.target_id else []
    venv = state.venv  # the restore step changes the virtualenv exactly when its hash differs from the backup's
    if venv.tree != venv.backup:
        return ["the virtualenv changes to its backup copy"]
    return ["running process started before the virtualenv last changed"] if venv.changed > state.started else []


VOICE = VoiceStages()
