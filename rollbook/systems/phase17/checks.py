"""What the phase17 server must show: before a run, that the method applies to it (``refusal``:
main.py in the shape the method expects; for ``flag``, the guard, the settings flag and the env file);
in the verify stage, the runbook's verification (``judge``: 404 or an accepted 101, the Phase 15/16
suites, and, enabled, no session leak)."""

from .facts import COMMENT, FLAG, GUARD, Phase17State
from .request import Phase17Request


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
