"""The phase17 server's stages (runbook 002), run by ``rollbook.pipeline.run``::

    refusal   main.py (and, for ``flag``, the guard, the settings flag and the env file) in the shape the
              method expects
    converge  ``router``: the runbook's two lines of main.py commented out or restored; ``flag``:
              STREAMING_ENABLED in the unit's env file
    apply     restart the unit when the running process started before main.py changed, or holds
              another flag value
    verify    404 or an accepted 101, the Phase 15/16 suites, and (enabled) no session leak
"""

from pyinfra import host

from ... import pipeline
from ...host import code, envfile, service, verify
from ...host.shell import http_ok
from ...pipeline import Context, Stage, Stages
from .checks import judge, refusal
from .facts import FLAG, ROUTER_LINES, Phase17Effect, Phase17Host
from .request import GROUP, SYSTEM, UNIT, Phase17Request, request_from, scope_of


class Phase17Stages(Stages):
    name, group = SYSTEM, GROUP

    def request(self, data, target, recorded) -> Phase17Request:
        return request_from(data, target)  # a target is required: phase17 has no converge run

    def inspect(self, request: Phase17Request):
        return host.get_fact(Phase17Host, settings=request.settings,
                             recorded_file=f"{pipeline.state_dir()}/state.json")

    def scope(self, data, request: Phase17Request, target) -> dict:
        return scope_of(data)

    def units(self, request: Phase17Request, state) -> dict[str, str]:
        return {UNIT: request.target}

    def refusal(self, ctx: Context) -> str:
        return refusal(ctx.request, ctx.state) or ""

    def converge(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        if request.method == "router":
            commented = request.target == "rolled_back"
            return Stage(
                steps=[code.lines_commented(
                    name=f"{'Comment out' if commented else 'Restore'} the video_stream router in "
                         f"{settings.main_file}",
                    path=settings.main_path, lines=list(ROUTER_LINES), current=state.main.router,
                    commented=commented, backup_keep=request.backup_keep)],
                changes=[f"{settings.main_file}: {'comment out' if commented else 'restore'} {line!r}"
                         for line in _router_todo(ctx)])
        current = _current_flag(ctx)
        return Stage(
            steps=[envfile.keys(name=f"Set {FLAG}={request.flag_value} in {settings.env_file}",
                                path=settings.env_file, current=current, target=_flag_target(ctx),
                                backup_keep=request.backup_keep, public={FLAG})],
            changes=[f"{FLAG}: {current.get(FLAG, '(unset)')} -> {request.flag_value}"]
            if current.get(FLAG) != request.flag_value else [])

    def apply(self, ctx: Context) -> Stage:
        request, state, settings = ctx.request, ctx.state, ctx.request.settings
        return Stage(steps=[service.restarted_when_stale(
            name=f"Restart {settings.service} so the process serves the new state", unit="systemd",
            service=settings.service, project_dir="", running=state.running, target=_flag_target(ctx),
            stale_code=bool(_router_todo(ctx)) or state.runs_old_code, public={FLAG},
            ready=http_ok(settings.base_url + settings.health_path, request.health_timeout),
            # flag: a server that does not start on the new env file gets the previous one back
            restore=service.Restore(env_file=settings.env_file, keys=(FLAG,), marker=ctx.run.restored_marker)
            if request.method == "flag" else None)])

    def verify(self, ctx: Context) -> None:
        request, settings = ctx.request, ctx.request.settings
        verify.verified(
            name="Verify the phase17 server's WebSocket stream", what=f"phase17 {request.describe()}",
            fact=Phase17Effect,
            fact_kwargs=dict(settings=settings, health_timeout=request.health_timeout,
                             cycles=request.leak_cycles if request.target == "enabled" else 0),
            judge=judge(request), system=SYSTEM)


def _router_todo(ctx: Context) -> list[str]:
    """``router``: the runbook's lines not yet as the target wants them (commented out or not)."""
    if ctx.request.method != "router":
        return []
    commented = ctx.request.target == "rolled_back"
    return [line for line in ROUTER_LINES if ctx.state.main.router[line] != commented]


def _current_flag(ctx: Context) -> dict[str, str]:
    """``flag``: the flag as the env file holds it ({} when unset)."""
    return {FLAG: ctx.state.env_file[FLAG]} if FLAG in ctx.state.env_file else {}


def _flag_target(ctx: Context) -> dict[str, str]:
    """The flag the running process must hold ({}: ``router`` changes code, not the environment)."""
    return {FLAG: ctx.request.flag_value} if ctx.request.method == "flag" else {}


PHASE17 = Phase17Stages()
