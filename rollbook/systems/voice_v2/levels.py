"""voice-v2's rollback levels (runbook 003), one class each, read from the ``Context`` alone (no host
command), so the hooks (``Level``'s) stay separate calls that agree; a level converges only the units in
``request.desired``::

    stages = [level.steps(ctx) for level in levels_of(ctx.request)]
"""

from dataclasses import dataclass

from pyinfra import host

from ...core.preflight import PreflightError
from ...host import envfile, files, service
from ...pipeline import Context, Stage
from . import operations as voice_ops
from .request import CODE_UNITS, KINDS, LEVEL_OF, VoiceRequest, code_source, providers_text, recorded_source


class Level:
    """One rollback level; ``number`` is the runbook's. Each level defines every hook but ``differing``."""

    number = 0

    def refusal(self, ctx: Context) -> str:
        """Why this level must not run on this host ('' when it may): before any change."""

    def steps(self, ctx: Context) -> Stage:
        """What the level changes (converge), each operation yielding commands only when the host differs."""

    def reasons(self, ctx: Context) -> list[str]:
        """Why the running process must restart for this level (apply); [] when it runs the target."""

    def restored(self, ctx: Context) -> tuple[str, ...]:
        """What its steps may replace besides the env file (kept first as ``<path>.backup.<stamp>``): what a
        service that does not start gets back."""

    def checks(self, ctx: Context, seen) -> list[tuple[bool, str]]:
        """Its own effect after the run (verify), ``seen`` being ``facts.VoiceEffect``'s observation."""

    def differing(self, ctx: Context) -> list[str]:
        """Its units the run converges, when the level finds the process stale."""
        return [unit for unit in ctx.request.desired if LEVEL_OF[unit] == self.number] if self.reasons(ctx) else []


def _holding(*statements: tuple[str, bool]) -> list[str]:
    """The statements whose condition holds: ``_holding(("a", True), ("b", False))`` -> ``['a']``."""
    return [statement for statement, holds in statements if holds]


@dataclass(frozen=True)
class ConfigTarget:
    """What a level-1 run converges to, from the request and the host's state."""

    env: dict[str, str]  # the env file's target ({}: env not converged; .env.previous's values arrive hidden)
    copied: tuple[str, ...]  # the keys whose values come from .env.previous
    copy_first: bool  # .env becomes a copy of .env.previous first: it differs in more than data's keys
    providers: str | None  # the provider settings file's text (None: providers not converged)
    document: dict | None  # the provider settings


def config_target(ctx: Context) -> ConfigTarget:
    """Level 1's target, for the units the run converges (env, providers); ``Configuration.refusal`` has ruled
    out a missing .env.previous and unusable settings."""
    request, state, settings = ctx.request, ctx.state, ctx.request.settings
    env, copied, copy_first, text, document = {}, (), False, None, None
    if "env" in request.desired:
        env = {**(state.previous if request.env_from_previous else {}), **request.env}  # data's values on top
        if request.env_from_previous:  # the known-good .env is .env.previous (voice_env_source=previous)
            copied = tuple(sorted(set(state.previous) - set(request.env)))
            copy_first = state.env_matches_previous is False
    if "providers" in request.desired:
        text, document = providers_text(state.providers, request, f"{host.name}:{settings.providers_file}")
    return ConfigTarget(env=env, copied=copied, copy_first=copy_first, providers=text, document=document)


def _provider_settings(providers: dict) -> dict:
    return {kind: {name: {"enabled": bool(entry.get("enabled")), "priority": entry.get("priority")}
                   for name, entry in (providers.get(kind) or {}).items()} for kind in KINDS}


class Configuration(Level):
    """Level 1: ``.env`` and the provider settings (units ``env`` and ``providers``)."""

    number = 1

    def refusal(self, ctx: Context) -> str:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        if "env" in request.desired and request.env_from_previous and state.previous is None:
            return f"{settings.env_previous} not found (the known-good configuration)"
        try:  # only values from data are written as they are; the provider settings must be usable
            envfile.check_managed(request.env if "env" in request.desired else {})
            config_target(ctx)
        except ValueError as error:
            return f"voice_*_env: {error}"
        except PreflightError as error:
            return str(error)
        return ""

    def steps(self, ctx: Context) -> Stage:
        request, state, settings, public = ctx.request, ctx.state, ctx.request.settings, ctx.request.public
        config, stage, keep = config_target(ctx), Stage(), ctx.settings.rollbook_backup_keep
        if "env" in request.desired:
            current = state.previous if config.copy_first else state.env_file
            if config.copy_first:  # the runbook's `cp .env.previous .env`, on the host, then data's values on top
                stage.steps.append(files.copied(
                    name=f"Copy {settings.env_previous} over {settings.env_file}", path=settings.env_file,
                    source=settings.env_previous, same=state.env_matches_previous, backup_keep=keep,
                    root=settings.app_dir))
                stage.changes.append(f"{settings.env_file}: copy of {settings.env_previous}")
            stage.steps.append(envfile.keys(
                name=f"Converge {settings.env_file} to the known-good configuration", path=settings.env_file,
                current=current, target=config.env, backup_keep=keep, public=public,
                source=settings.env_previous, copied=config.copied, root=settings.app_dir))
            stage.changes += envfile.describe(envfile.plan_changes(current, config.env), public)
        if "providers" in request.desired:
            stage.steps.append(files.content(
                name=f"Set the provider settings in {settings.providers_file}", path=settings.providers_file,
                current=state.providers, text=config.providers, backup_keep=keep, root=settings.app_dir))
        return stage

    def reasons(self, ctx: Context) -> list[str]:
        state, config = ctx.state, config_target(ctx)
        reasons = service.reasons(state.running, config.env, public=ctx.request.public)
        if state.running is None or config.providers is None:
            return reasons
        if state.providers != config.providers:
            reasons.append("the provider settings change")
        elif state.providers_stale:
            reasons.append("running process started before the provider settings last changed")
        return reasons

    def differing(self, ctx: Context) -> list[str]:
        """env and providers when the file or the running process holds other values."""
        request, state, config = ctx.request, ctx.state, config_target(ctx)
        env = "env" in request.desired and (config.copy_first or any(
            values.get(key) != value for values in (state.env_file or {}, state.running or {})
            for key, value in config.env.items()))
        providers = "providers" in request.desired and (state.providers != config.providers
                                                        or state.providers_stale)
        return _holding(("env", env), ("providers", providers))

    def restored(self, ctx: Context) -> tuple[str, ...]:
        return (ctx.request.settings.providers_file,) if "providers" in ctx.request.desired else ()

    def checks(self, ctx: Context, seen) -> list[tuple[bool, str]]:
        """The process environment holds the env target; the app reads the provider settings, started after them."""
        config, public, running, result = config_target(ctx), ctx.request.public, seen.running or {}, []
        wrong = [f"{key}={envfile.shown(key, running.get(key), public)} (want {envfile.shown(key, value, public)})"
                 for key, value in config.env.items() if running.get(key) != value]
        if config.env:
            result.append((seen.running is not None and not wrong,
                           f"process environment holds the {len(config.env)} target values" if not wrong
                           else f"process environment differs: {', '.join(wrong)}"))
        if config.document is not None:
            report = seen.validation
            shown, want = _provider_settings(report.get("providers") or {}), _provider_settings(config.document)
            result.append((shown == want, "the app reads the target provider settings" if shown == want
                           else f"the app reads other provider settings: {report.get('providers_error') or shown}"))
            fresh = seen.running is not None and seen.providers_changed <= seen.started
            result.append((fresh, f"the service started {'after' if fresh else 'before'} the provider settings "
                                  "last changed"))
        return result


def _runs_target(what: str, problems: list[str], seen) -> tuple[bool, str]:
    """Levels 2 and 3 on systemd hosts: ``problems`` with what is on disk, and whether the process started after
    its code, requirements or virtualenv last changed."""
    if seen.running is None or float(seen.code.get("changed") or 0) > seen.started:
        problems = problems + ["the service started before its code, requirements or virtualenv last changed"]
    return not problems, ("; ".join(problems) if problems
                          else f"the service runs the target {what}, started after it last changed")


class Code(Level):
    """Level 2: the code tree and its requirements (units ``code`` and ``requirements``; systemd hosts)."""

    number = 2

    def refusal(self, ctx: Context) -> str:
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
                    else f"no backup directory {ctx.settings.voice_backup_root}/voice_v2_<YYYYMMDD> found")
        missing = _holding((settings.code_dir, code.target == "missing"),
                           ("requirements.txt", code.target_requirements == "missing"))
        return f"{code.source} has no {missing[0]}" if missing else ""

    def steps(self, ctx: Context) -> Stage:
        request, code, settings = ctx.request, ctx.state.code, ctx.request.settings
        source, keep = code_source(request, ctx.state.sources), ctx.settings.rollbook_backup_keep
        tree, requirements, _ = self.restored(ctx)
        stage = Stage(changes=_holding((f"code {code.tree[:12]} -> {code.target[:12]} ({code.source})",
                                        code.tree != code.target)))
        if source.kind == "git":
            clean = code.head == code.source and code.tree == code.target and code.requirements == code.target_requirements
            kept = _holding((tree, code.tree not in (code.target, "missing")),
                            (requirements, code.requirements not in (code.target_requirements, "missing")))
            stage.steps.append(voice_ops.checked_out_clean(
                name=f"Check out the known-good ref {source.ref}", checkout=settings.app_dir, ref=source.ref,
                commit=code.source, paths=[settings.code_dir + "/", "requirements.txt"], clean=clean, keep=kept,
                backup_keep=keep))
        else:
            stage.steps.append(voice_ops.tree_restored(
                name=f"Restore {settings.code_dir} from {code.source}", path=tree,
                source=f"{code.source}/{settings.code_dir}", current=code.tree, target=code.target, backup_keep=keep))
            stage.steps.append(voice_ops.file_restored(
                name=f"Restore requirements.txt from {code.source}", path=requirements,
                source=f"{code.source}/requirements.txt", current=code.requirements, target=code.target_requirements,
                backup_keep=keep))
        stage.steps.append(voice_ops.requirements_installed(
            name=f"Install requirements.txt into {settings.venv}", venv=settings.venv, requirements=requirements,
            installed=code.installed, target=code.target_requirements, pip_args=settings.pip_args, backup_keep=keep))
        return stage

    def reasons(self, ctx: Context) -> list[str]:
        state, code = ctx.state, ctx.state.code
        if state.running is None:
            return ["not running"]
        return _holding((f"the code changes ({code.tree[:12]} -> {code.target[:12]})", code.tree != code.target),
                        ("the requirements to install change", code.installed != code.target_requirements),
                        ("running process started before its code, requirements or virtualenv last changed",
                         code.changed > state.started))

    def restored(self, ctx: Context) -> tuple[str, ...]:
        settings = ctx.request.settings
        return f"{settings.app_dir}/{settings.code_dir}", f"{settings.app_dir}/requirements.txt", settings.venv

    def checks(self, ctx: Context, seen) -> list[tuple[bool, str]]:
        """The code tree and the installed requirements are the source's, and the process started after them."""
        code, tree, installed = ctx.state.code, seen.code.get("tree", "?"), seen.code.get("installed", "?")
        return [_runs_target("code", _holding(
            (f"code tree {tree[:12]} (want {code.target[:12]})", tree != code.target),
            (f"installed requirements {installed[:12]} (want {code.target_requirements[:12]})",
             installed != code.target_requirements)), seen)]


class Runtime(Level):
    """Level 3: the compose file's image tag (unit ``image``) or the virtualenv from its backup copy (``venv``)."""

    number = 3

    def refusal(self, ctx: Context) -> str:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        if settings.unit == "compose":
            if not state.image.target_id and not ctx.settings.voice_image_registry:
                return (f"image {settings.image}:{request.image_tag} is not present on the host, and "
                        "voice_image_registry is unset (nowhere to pull it from)")
            return "" if state.image.file_tag else f"{settings.compose_file} names no {settings.image}:<tag> image"
        if request.desired.get("venv") == "enabled":
            return "a level 3 enable on a systemd host has no current virtualenv to converge back to"
        return f"virtualenv backup {settings.venv_backup} not found" if state.venv.backup == "missing" else ""

    def steps(self, ctx: Context) -> Stage:
        request, state, settings, keep = ctx.request, ctx.state, ctx.request.settings, ctx.settings.rollbook_backup_keep
        if settings.unit == "compose":
            image, tag, registry = state.image, request.image_tag, ctx.settings.voice_image_registry
            wanted = f"{settings.image}:{tag}"
            return Stage(
                steps=[voice_ops.image_pulled(
                    name=f"Pull {wanted} from {registry or 'its registry'} when the host lacks it",
                    image=settings.image, tag=tag, registry=registry or "", present=bool(image.target_id)),
                    voice_ops.image_tag_set(
                    name=f"Set the image {wanted} in {settings.compose_file}", compose_file=settings.compose_file,
                    image=settings.image, current=image.file_tag, tag=tag, backup_keep=keep)],
                changes=_holding((f"pull {registry}/{wanted}", not image.target_id),
                                 (f"image {settings.image}:{image.file_tag} -> {wanted}", image.file_tag != tag)))
        venv = state.venv
        return Stage(
            steps=[voice_ops.tree_restored(
                name=f"Restore {settings.venv} from {settings.venv_backup}", path=settings.venv,
                source=settings.venv_backup, current=venv.tree, target=venv.backup, backup_keep=keep)],
            changes=_holding((f"virtualenv {venv.tree[:12]} -> {venv.backup[:12]}", venv.tree != venv.backup)))

    def reasons(self, ctx: Context) -> list[str]:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        if state.running is None:
            return ["not running"]
        if settings.unit == "compose":
            image = state.image
            return _holding((f"container runs {image.running_id[:19]}, not {settings.image}:{request.image_tag}",
                             image.running_id != image.target_id))
        venv = state.venv  # the restore step changes the virtualenv exactly when its hash differs from the backup's
        if venv.tree != venv.backup:
            return ["the virtualenv changes to its backup copy"]
        return ["running process started before the virtualenv last changed"] if venv.changed > state.started else []

    def restored(self, ctx: Context) -> tuple[str, ...]:
        settings = ctx.request.settings
        return (settings.compose_file,) if settings.unit == "compose" else (settings.venv,)

    def checks(self, ctx: Context, seen) -> list[tuple[bool, str]]:
        """The container runs the image asked for; on systemd hosts the virtualenv is its backup copy, and the
        process started after it."""
        settings, image, on_disk = ctx.request.settings, seen.image, seen.code
        if settings.unit == "systemd":
            copy = on_disk.get("venv") and on_disk.get("venv") == on_disk.get("backup")
            return [_runs_target("virtualenv", [] if copy else ["the virtualenv is not its backup copy"], seen)]
        if image is None:
            return []
        ok = bool(image.target_id) and image.running_id == image.target_id
        return [(ok, f"container runs {settings.image}:{ctx.request.image_tag} ({image.running_id[:19] or 'nothing'})"
                     + ("" if ok else f", want {image.target_id[:19] or 'a present image'}"))]


LEVELS = {level.number: level for level in (Configuration(), Code(), Runtime())}


def levels_of(request: VoiceRequest) -> list[Level]:
    """The levels a run converges, in the runbook's order."""
    return [LEVELS[number] for number in request.levels]
