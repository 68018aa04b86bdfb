"""The phase17 ``@deploy``: preflight from host data, one state fact, the router lines or the flag,
the restart, the verification, the record (see the package docstring)."""

from pyinfra import host
from pyinfra.api import deploy

from ... import pipeline
from ...host import code, envfile, service, verify
from ...host.shell import http_ok
from .checks import judge, refusal
from .facts import FLAG, ROUTER_LINES, Phase17Effect, Phase17Host
from .request import GROUP, SYSTEM, UNIT, request_from, scope_of


@deploy("phase17")
def phase17(target: str):
    """
    Converge the phase17 server's WebSocket stream to ``target`` (``enabled`` or ``rolled_back``)
    with ``phase17_method`` (router | flag), restart it when the running process differs, verify.

    Example:

    .. code:: python

        from rollbook.systems.phase17 import phase17
        phase17(target="rolled_back")
    """
    if GROUP not in host.groups:
        return
    pipeline.preflight()  # unknown keys, security overrides, types: before any host command
    data = host.data
    request = request_from(data, target)  # bad input fails before any host is touched
    settings = request.settings
    state = host.get_fact(Phase17Host, settings=settings, recorded_file=f"{pipeline.state_dir()}/state.json")
    run = pipeline.begin(SYSTEM, kind=pipeline.run_kind(target, data), scope=scope_of(data),
                         units_before=state.recorded, units_after={UNIT: request.target})
    why = refusal(request, state)
    if why:
        pipeline.refuse(run, why)

    steps = []
    flag_target: dict[str, str] = {}
    code_changes = False
    if request.method == "router":
        commented = request.target == "rolled_back"
        todo = [line for line in ROUTER_LINES if state.main.router[line] != commented]
        code_changes = bool(todo)
        run.changes = [f"{settings.main_file}: {'comment out' if commented else 'restore'} {line!r}" for line in todo]
        steps.append(code.lines_commented(
            name=f"{'Comment out' if commented else 'Restore'} the video_stream router in {settings.main_file}",
            path=settings.main_path, lines=list(ROUTER_LINES), current=state.main.router, commented=commented,
            backup_keep=request.backup_keep))
    else:
        flag_target = {FLAG: request.flag_value}
        current = {FLAG: state.env_file[FLAG]} if FLAG in state.env_file else {}
        run.changes = [f"{FLAG}: {current.get(FLAG, '(unset)')} -> {request.flag_value}"] \
            if current.get(FLAG) != request.flag_value else []
        steps.append(envfile.keys(name=f"Set {FLAG}={request.flag_value} in {settings.env_file}",
                                  path=settings.env_file, current=current, target=flag_target,
                                  backup_keep=request.backup_keep, public={FLAG}))
    steps.append(service.restarted_when_stale(
        name=f"Restart {settings.service} so the process serves the new state", unit="systemd",
        service=settings.service, project_dir="", running=state.running, target=flag_target,
        stale_code=code_changes or state.runs_old_code, public={FLAG},
        ready=http_ok(settings.base_url + settings.health_path, request.health_timeout),
        # flag: a server that does not start on the new env file gets the previous one back
        restore=service.Restore(env_file=settings.env_file, keys=(FLAG,), marker=run.restored_marker)
        if request.method == "flag" else None))

    verify.verified(
        name="Verify the phase17 server's WebSocket stream", what=f"phase17 {request.describe()}",
        fact=Phase17Effect,
        fact_kwargs=dict(settings=settings, health_timeout=request.health_timeout,
                         cycles=request.leak_cycles if request.target == "enabled" else 0),
        judge=judge(request), system=SYSTEM,
    )
    pipeline.finish(run, changed=any(step.will_change for step in steps))
