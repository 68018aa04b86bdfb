"""The phase17 server: disable and re-enable the WebSocket stream ``/ws/video/stream``, and prove it.
Specification: runbook ``002…phase17.md``. Entry points::

    pyinfra inventories/prod.py deploys/phase17_rollback.py                          # Method 1 (router)
    pyinfra inventories/prod.py deploys/phase17_rollback.py --data phase17_method=flag   # Method 3
    pyinfra inventories/staging.py deploys/phase17_enable.py

``router`` comments out exactly the runbook's two lines of ``server/app/main.py`` (enable restores
them: the file is byte-identical afterwards) and refuses when they are not there as expected.
``flag`` converges ``STREAMING_ENABLED`` in the unit's env file and needs main.py's
``if STREAMING_ENABLED:`` guard. The unit restarts when the running process differs: it started
before main.py last changed, or its environment holds another flag value. Verify: a real WebSocket
upgrade gets 404 (rolled back) or 101 (enabled), the Phase 15/16 suites pass with the server's own
virtualenv, and (enabled) memory does not grow over stream connect/disconnect cycles.

404 needs the server's cooperation: a plain Starlette app closes an unrouted WebSocket before
accepting it, which uvicorn answers 403. The sandbox's stand-in answers it 404 through the ASGI
WebSocket Denial Response extension (``tests/sandbox/images/phase17_server/.../app/asgi.py`` and
``serve.py``, which adds the extension to Debian bookworm's uvicorn 0.17); a real server that
answers 403 fails the rollback's verify, on purpose: the runbook promises 404.
"""

import re
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import deploy

from .. import pipeline
from ..facts.phase17 import (COMMENT, FLAG, GUARD, ROUTER_LINES, Phase17Effect, Phase17Host, Phase17Settings,
                             Phase17State)
from ..operations import code, service, verify
from ..operations import envfile as env_ops
from ..preflight import PreflightError, choice, positive_int, require
from ..shell import http_ok

SYSTEM, GROUP, UNIT = "phase17", "phase17_server", "websocket"
METHODS = ("router", "flag")
STATES = ("enabled", "rolled_back")
RELATIVE_PATH = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+$")


@dataclass(frozen=True)
class Phase17Request:
    target: str  # enabled | rolled_back
    method: str  # router | flag
    settings: Phase17Settings
    health_timeout: int
    leak_cycles: int
    leak_max_growth_kb: int
    backup_keep: int

    @property
    def flag_value(self) -> str:
        return "true" if self.target == "enabled" else "false"

    def describe(self) -> str:
        return f"/ws/video/stream {self.target.replace('_', ' ')} ({self.method})"


def _relative(value, key: str) -> str:
    text = str(value)
    if not RELATIVE_PATH.match(text):
        raise PreflightError(f"{key}: {value!r} is not a path relative to phase17_server_dir")
    return text


def _suites(value) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    suites = tuple(_relative(str(item).strip(), "phase17_test_suites") for item in items if str(item).strip())
    if not suites:
        raise PreflightError("phase17_test_suites is empty (the runbook's Phase 15 and 16 suites)")
    return suites


def scope_of(data) -> dict[str, str]:
    """What an approval binds: the method asked for."""
    return {"phase17_method": choice(require(data, "phase17_method"), METHODS, "phase17_method")}


def request_from(data, target: str) -> Phase17Request:
    """Validate ``data`` for a run converging ``target``; PreflightError names the bad key."""
    stream_path = str(require(data, "phase17_stream_path"))
    health_path = str(require(data, "phase17_health_path"))
    for key, value in (("phase17_stream_path", stream_path), ("phase17_health_path", health_path)):
        if not value.startswith("/") or any(char.isspace() for char in value):
            raise PreflightError(f"{key}: {value!r} is not an absolute URL path")
    settings = Phase17Settings(
        server_dir=str(require(data, "phase17_server_dir")),
        main_file=_relative(require(data, "phase17_main_file"), "phase17_main_file"),
        settings_file=_relative(require(data, "phase17_settings_file"), "phase17_settings_file"),
        env_file=str(require(data, "phase17_env_file")),
        service=str(require(data, "phase17_systemd_unit")),
        venv=str(require(data, "phase17_venv")),
        base_url=str(require(data, "phase17_base_url")).rstrip("/"),
        stream_path=stream_path, health_path=health_path,
        suites=_suites(require(data, "phase17_test_suites")),
        test_timeout=positive_int(require(data, "phase17_test_timeout"), "phase17_test_timeout"),
    )
    if not settings.base_url.startswith("http://"):
        raise PreflightError(f"phase17_base_url: {settings.base_url!r} is not an http:// URL")
    return Phase17Request(
        target=choice(target, STATES, "target"),
        method=choice(require(data, "phase17_method"), METHODS, "phase17_method"),
        settings=settings,
        health_timeout=positive_int(require(data, "phase17_health_timeout"), "phase17_health_timeout"),
        leak_cycles=positive_int(require(data, "phase17_leak_cycles"), "phase17_leak_cycles"),
        leak_max_growth_kb=positive_int(require(data, "phase17_leak_max_growth_kb"), "phase17_leak_max_growth_kb"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
    )


def refusal(request: Phase17Request, state: Phase17State) -> str | None:
    """Why the host cannot be converged with this method (None: it can)."""
    main, path = state.main, request.settings.main_path
    if main is None:
        return f"{path} not found"
    if request.method == "router":
        if main.missing:
            hint = f" (it has the {GUARD} guard: use phase17_method=flag)" if main.guarded else ""
            return (f"{path} has changed shape: expected exactly one line {main.missing[0]!r} (or "
                    f"'{COMMENT}' + it) at column 0, found {'none' if not main.guarded else 'it only indented'}"
                    f"{hint}; not editing it")
        return None
    if not main.guarded:
        return (f"{path} has no '{GUARD}' guard around the video_stream router (the runbook's Method 3): "
                f"add it, or use phase17_method=router")
    if not state.settings_define_flag:
        return f"{request.settings.settings_path} does not define {FLAG} (the runbook's Method 3)"
    if state.env_file is None:
        return f"{request.settings.env_file} not found (the unit's EnvironmentFile)"
    return None


def judge(request: Phase17Request):
    """The runbook's verification: 404 or 101, Phase 15/16 suites, and (enabled) no session leak."""
    enabled = request.target == "enabled"

    def checks(seen) -> list[tuple[bool, str]]:
        result = [(seen.process is not None, f"{request.settings.service} is running" if seen.process
                   else f"{request.settings.service} is not running")]
        if request.method == "flag":
            value = (seen.process.env if seen.process else {}).get(FLAG)
            result.append((value == request.flag_value, f"process environment holds {FLAG}={value}"
                           + ("" if value == request.flag_value else f" (want {request.flag_value})")))
        want = 101 if enabled else 404
        status_ok = seen.upgrade_status == want and (seen.accepted if enabled else True)
        result.append((status_ok, f"WebSocket upgrade to {request.settings.stream_path} answers "
                       f"{seen.upgrade_status or 'nothing'}" + (" (accepted)" if seen.accepted else "")
                       + ("" if status_ok else f", want {want}" + (" accepted" if enabled else ""))
                       + (f": {seen.message}" if not status_ok and seen.message else "")))
        for suite in request.settings.suites:
            code_, summary = seen.suites.get(suite, (-1, "not run"))
            result.append((code_ == 0, f"{suite} {'passes' if code_ == 0 else f'fails (exit {code_})'}: {summary}"))
        if enabled:
            growth = seen.rss_growth_kb
            limit = request.leak_max_growth_kb
            if growth is None:
                result.append((False, f"memory over {request.leak_cycles} stream cycles not measured"
                               + (f": {seen.cycles_error}" if seen.cycles_error else "")))
            else:
                moved = "grew" if growth >= 0 else "shrank"
                result.append((growth <= limit, f"memory {moved} {abs(growth)} kB over {request.leak_cycles} stream "
                               f"connect/disconnect cycles (limit {limit} kB)"))
                result.append((seen.sessions_after == 0, f"{seen.sessions_after} stream session(s) live after the "
                               f"cycles" + ("" if seen.sessions_after == 0 else " (want 0: sessions not released)")))
        return result

    return checks


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
        steps.append(env_ops.keys(name=f"Set {FLAG}={request.flag_value} in {settings.env_file}",
                                  path=settings.env_file, current=current, target=flag_target,
                                  backup_keep=request.backup_keep))
    steps.append(service.restarted_when_stale(
        name=f"Restart {settings.service} so the process serves the new state", unit="systemd",
        service=settings.service, project_dir="", running=state.running, target=flag_target,
        stale_code=code_changes or state.runs_old_code,
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
