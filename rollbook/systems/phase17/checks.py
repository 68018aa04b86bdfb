"""What the phase17 server must show: before a run, the units it converges and that their methods
apply to it; after one, the runbook's verification."""

from ...host import envfile
from ...host.verify import AfterStep, Decision
from .facts import COMMENT, FLAG, GUARD, Phase17State
from .request import FLAG_UNIT, ROUTER, Phase17Request, flag_of, stream_served

TREE = "runbook 002, Rollback Decision Tree"
# the runbook's decision tree and support steps, as the checks meet them (``verify.decided``)
DECISIONS = (
    Decision(r"^WebSocket upgrade to .*want a refusal", TREE, "Is it WebSocket endpoint specific? Yes -> Disable "
             "WebSocket endpoint (Method 1) ... Can you fix it quickly? No -> Use feature flag (Method 3)",
             "if the endpoint is still served after Method 1, the flag: --data phase17_method=flag"),
    Decision(r" fails \(exit", TREE, "Is it Phase 15/16 related? Yes -> Rollback entire Phase 17",
             "roll back both methods (phase17_method=router, then flag); if Phase 15/16 still fails, revert the "
             "Phase 17 commit upstream (Method 2): rollbook does not push"),
    Decision(r"^memory ", TREE, "Critical issue? Yes -> Revert commit (Method 2)",
             "a leak is critical: roll back here, then revert the commit upstream (Method 2)"),
    Decision(r"is not running|answers nothing|, want 200", "runbook 002, Support Contacts", "If rollback fails or "
             "issues persist: ... 3. Contact the development team", "read the service's log in this run's "
             "history (rollbook incident) and contact the development team"),
)

AFTER = ("runbook 002, Post-Rollback Actions and Testing Rollback", (
    AfterStep("Verify Phase 15/16 still works", r" passes: "),
    AfterStep("Document the issue"),
    AfterStep("Create GitHub issue"),
    AfterStep("Fix the issue in a new commit"),
    AfterStep("Re-enable streaming after fix is verified (deploys/phase17_enable.py)"),
))


def converged(request: Phase17Request, state: Phase17State) -> dict[str, str]:
    """The units this run converges on this host, unit -> enabled | rolled_back: a rollback or enable's
    unit; a converge run's recorded and declared units (the former single unit ``websocket`` as the
    method main.py's shape allows), except a unit whose method main.py's shape does not allow, when it
    is declared or recorded enabled (it already holds); one recorded rolled_back stays, to be refused.
    """
    units = dict(request.desired)
    main = state.main
    if request.target is not None or main is None:
        return units
    declared = set(request.declared)
    if request.legacy is not None:
        unit = FLAG_UNIT if main.guarded else ROUTER
        units[unit] = request.legacy
        declared.discard(unit)
    applies = {ROUTER: not main.missing, FLAG_UNIT: main.guarded}  # main.py has the shape the unit's method edits
    return {unit: value for unit, value in units.items()
            if applies[unit] or (unit not in declared and value == "rolled_back")}


def refusal(request: Phase17Request, state: Phase17State) -> str | None:
    """Why the host cannot be converged with the units' methods (None: it can)."""
    units = converged(request, state)
    main, path = state.main, request.settings.main_path
    if not units:
        return None
    if main is None:
        return f"{path} not found"
    if ROUTER in units and main.missing:
        hint = f" (it has the {GUARD} guard: use phase17_method=flag)" if main.guarded else ""
        return (f"{path} has changed shape: expected exactly one line {main.missing[0]!r} (or "
                f"'{COMMENT}' + it) at column 0, found {'none' if not main.guarded else 'it only indented'}"
                f"{hint}; not editing it")
    if FLAG_UNIT not in units:
        return None
    if not main.guarded:
        return (f"{path} has no '{GUARD}' guard around the video_stream router (the runbook's Method 3): "
                f"add it, or use phase17_method=router")
    if not state.settings_define_flag:
        return f"{request.settings.settings_path} does not define {FLAG} (the runbook's Method 3)"
    return envfile.refusal(request.settings.env_file, state.env_file, state.misshapen,
                           "not found (the unit's EnvironmentFile)") or None


def judge(request: Phase17Request, units: dict[str, str] | None = None):
    """The runbook's verification of ``units`` (default: the request's): the process and its flag, health,
    the WebSocket upgrade refused or accepted with 101 (served only when every unit is enabled), the
    Phase 15/16 suites, and (enabled) no RSS growth over stream connect/disconnect cycles."""
    units, places = request.desired if units is None else units, request.settings
    enabled = stream_served(units)
    flag_value = flag_of(units[FLAG_UNIT]) if FLAG_UNIT in units else None

    def checks(seen) -> list[tuple[bool, str]]:
        result = [(seen.process is not None, f"{places.service} is {'' if seen.process else 'not '}running")]
        if flag_value is not None:
            value = (seen.process.env if seen.process else {}).get(FLAG)
            result.append((value == flag_value, f"process environment holds {FLAG}={value}"
                           + ("" if value == flag_value else f" (want {flag_value})")))
        result.append((seen.health_code == 200, f"{places.health_path} answers "
                       f"{seen.health_code or 'nothing'}" + ("" if seen.health_code == 200 else ", want 200")))
        # served: 101 with the right accept key; not served: refused (any answer but 101; FastAPI's 403)
        upgrade = seen.upgrade_status
        status_ok = (upgrade == 101 and seen.accepted) if enabled else upgrade not in (0, 101)
        want = "101 accepted" if enabled else "a refusal (no 101)"
        result.append((status_ok, f"WebSocket upgrade to {places.stream_path} answers "
                       f"{upgrade or 'nothing'}" + (" (accepted)" if seen.accepted else "")
                       + ("" if status_ok else f", want {want}")
                       + (f": {seen.message}" if not status_ok and seen.message else "")))
        for suite in places.suites:
            code_, summary = seen.suites.get(suite, (-1, "not run"))
            result.append((code_ == 0, f"{suite} {'passes' if code_ == 0 else f'fails (exit {code_})'}: {summary}"))
        if enabled:
            growth, limit, cycles = seen.rss_growth_kb, request.leak_max_growth_kb, request.leak_cycles
            if growth is None:
                result.append((False, f"memory over {cycles} stream cycles not measured"
                               + (f": {seen.cycles_error}" if seen.cycles_error else "")))
            else:
                moved = "grew" if growth >= 0 else "shrank"
                result.append((growth <= limit, f"memory {moved} {abs(growth)} kB over {cycles} stream "
                               f"connect/disconnect cycles (limit {limit} kB)"))
        return result

    return checks
