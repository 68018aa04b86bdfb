"""The phase17 server's stages (runbook 002), run by ``rollbook.pipeline.run``: ``router`` comments out or
restores main.py's two lines, ``flag`` sets STREAMING_ENABLED. Each hook asks ``checks.converged`` for the
units the run converges: a function of the request and the host's state alone, so the separate calls agree."""

import posixpath
from dataclasses import replace

from pyinfra import host

from ...host import code, envfile, service, verify
from ...host.shell import http_ok
from ...pipeline import Context, Stage, Stages
from .checks import DECISIONS, converged, judge, refusal
from .facts import FLAG, ROUTER_LINES, Phase17Effect, Phase17Host
from .request import (FLAG_UNIT, GROUP, LEGACY_UNIT, ROUTER, SYSTEM, Phase17Request, desired_state, flag_of, recorded_state, request_from, scope_of, stream_served)


class Phase17Stages(Stages):
    name, group, desired_key, bound = SYSTEM, GROUP, "phase17_desired", staticmethod(scope_of)

    def request(self, settings, target, recorded) -> Phase17Request:
        desired, from_record = desired_state(settings, target, recorded or {})
        made = request_from(settings, desired)
        if target is not None:
            return replace(made, target=target)
        known, legacy = recorded_state(recorded)
        return replace(made, from_record=from_record, legacy=legacy,
                       declared=tuple(unit for unit in desired if unit not in known))

    def inspect(self, request: Phase17Request, settings):
        return host.get_fact(Phase17Host, settings=request.settings,
                             recorded_file=f"{settings.rollbook_state_dir}/state.json")

    def scope(self, settings, request: Phase17Request, target) -> dict:
        legacy = {LEGACY_UNIT: request.legacy} if request.legacy else {}
        return super().scope(settings, replace(request, desired={**request.desired, **legacy}), target)

    def units(self, request: Phase17Request, state) -> dict[str, str]:
        return converged(request, state)

    def differing(self, ctx: Context) -> list[str]:
        """The router when main.py's lines (or the code the process runs) differ from its state; the flag
        when the env file or the running process holds another value."""
        units, state, differ = converged(ctx.request, ctx.state), ctx.state, []
        if ROUTER in units and (_router_todo(ctx) or state.runs_old_code):
            differ.append(ROUTER)
        if FLAG_UNIT in units:
            value = flag_of(units[FLAG_UNIT])
            if state.env_file.get(FLAG) != value or (state.running or {}).get(FLAG) != value:
                differ.append(FLAG_UNIT)
        return differ

    def refusal(self, ctx: Context) -> str:
        return refusal(ctx.request, ctx.state) or ""

    def converge(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        units = converged(request, state)
        stage = Stage()
        if ROUTER in units:
            commented = units[ROUTER] == "rolled_back"
            stage.steps.append(code.lines_commented(
                name=f"{'Comment out' if commented else 'Restore'} the video_stream router in {settings.main_file}",
                path=settings.main_path, lines=list(ROUTER_LINES), current=state.main.router,
                commented=commented, backup_keep=ctx.settings.rollbook_backup_keep, root=settings.server_dir))
            stage.changes += [f"{settings.main_file}: {'comment out' if commented else 'restore'} {line!r}"
                              for line in _router_todo(ctx)]
        if FLAG_UNIT in units:
            target = _flag_target(ctx)
            stage.steps.append(envfile.keys(
                name=f"Set {FLAG}={target[FLAG]} in {settings.env_file}", path=settings.env_file,
                current=state.env_file, target=target, backup_keep=ctx.settings.rollbook_backup_keep, public={FLAG},
                root=posixpath.dirname(settings.server_dir.rstrip("/"))))
            stage.changes += envfile.describe(envfile.plan_changes(state.env_file, target), {FLAG})
        return stage

    def logs(self, ctx: Context):
        settings = ctx.request.settings
        return service.log_tail_command("systemd", settings.service, "", settings.env_file,
                                        envfile.public_keys(ctx.settings, {FLAG}))

    def apply(self, ctx: Context) -> Stage:
        state, settings = ctx.state, ctx.request.settings
        return Stage(steps=[service.restarted_when_stale(
            name=f"Restart {settings.service} so the process serves the new state", unit="systemd",
            service=settings.service, project_dir="", running=state.running, target=_flag_target(ctx),
            stale_code=bool(_router_todo(ctx)) or state.runs_old_code, public={FLAG},
            ready=http_ok(settings.base_url + settings.health_path, ctx.settings.phase17_health_timeout,
                          "phase17_health_path (or phase17_base_url)"),
            restore=_restore(ctx))])

    def verify(self, ctx: Context) -> None:
        request, settings = ctx.request, ctx.request.settings
        units = converged(request, ctx.state)
        verify.verified(
            name="Verify the phase17 server's WebSocket stream", what=f"phase17 {request.describe(units)}",
            fact=Phase17Effect,
            fact_kwargs=dict(settings=settings, health_timeout=ctx.settings.phase17_health_timeout,
                             cycles=request.leak_cycles if stream_served(units) else 0),
            judge=judge(request, units), system=SYSTEM, decisions=DECISIONS)


def _restore(ctx: Context) -> service.Restore:
    """A server that does not start on what this run changed gets this run's backups back: the env
    file (flag unit: the process must then hold its flag again) and main.py (router unit)."""
    units, settings, run = converged(ctx.request, ctx.state), ctx.request.settings, ctx.run
    files = ([settings.env_file] if FLAG_UNIT in units else []) + ([settings.main_path] if ROUTER in units else [])
    return service.Restore.of_run(run, files[0] if files else settings.env_file, (FLAG,) if FLAG_UNIT in units else (),
                                  also=files[1:])


def _router_todo(ctx: Context) -> list[str]:
    """The router unit: the runbook's lines not yet as its state wants them (commented out or not)."""
    units = converged(ctx.request, ctx.state)
    if ROUTER not in units:
        return []
    commented = units[ROUTER] == "rolled_back"
    return [line for line in ROUTER_LINES if ctx.state.main.router[line] != commented]


def _flag_target(ctx: Context) -> dict[str, str]:
    """The flag the running process must hold ({}: the router unit changes code, not the environment)."""
    units = converged(ctx.request, ctx.state)
    return {FLAG: flag_of(units[FLAG_UNIT])} if FLAG_UNIT in units else {}


PHASE17 = Phase17Stages()
