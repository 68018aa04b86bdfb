"""The phase17 request: what one run must do on one host, validated from its host data.

``scope_of`` (what an approval binds: the method), ``desired_state`` (the state per unit a run
converges) and ``request_from`` (data -> ``Phase17Request``; PreflightError names the bad key).

One unit per method, each ``enabled`` or ``rolled_back``: ``router`` (the runbook's two
``video_stream`` lines of main.py, Method 1) and ``flag`` (``STREAMING_ENABLED`` in the unit's env
file, Method 3). A rollback or enable converges the unit of ``phase17_method``; a converge run
every recorded unit (``deploys/converge.py``).
"""

import re
from dataclasses import dataclass

from ...preflight import PreflightError, choice, positive_int, require
from .facts import Phase17Settings

SYSTEM, GROUP = "phase17", "phase17_server"
ROUTER, FLAG_UNIT = "router", "flag"
UNITS = (ROUTER, FLAG_UNIT)  # one unit per method
METHODS = UNITS
LEGACY_UNIT = "websocket"  # what runs recorded before the per-method units: the method main.py's shape allows
STATES = ("enabled", "rolled_back")
RELATIVE_PATH = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+$")


@dataclass(frozen=True)
class Phase17Request:
    desired: dict[str, str]  # unit (router | flag) -> enabled | rolled_back, for the units this run converges
    method: str  # phase17_method: the unit a rollback or enable converges
    settings: Phase17Settings
    health_timeout: int
    leak_cycles: int
    leak_max_growth_kb: int
    backup_keep: int
    target: str | None = None  # enabled | rolled_back; None: a converge run to the recorded state
    from_record: bool = False  # every unit converges to the host's recorded state
    declared: tuple[str, ...] = ()  # units with no record, converged to their declared state (converge runs)
    legacy: str | None = None  # the state a run recorded as the one unit "websocket" (converge runs)

    @property
    def flag_value(self) -> str | None:
        """STREAMING_ENABLED as the flag unit's state wants it (None: the run does not converge the flag)."""
        state = self.desired.get(FLAG_UNIT)
        return None if state is None else flag_of(state)

    def describe(self, units: dict[str, str] | None = None) -> str:
        """``/ws/video/stream rolled back (router)``; a converge run: the stream and each unit."""
        if self.target is not None:
            return f"/ws/video/stream {self.target.replace('_', ' ')} ({self.method})"
        units = self.desired if units is None else units
        served = "served" if stream_served(units) else "not served"
        return f"/ws/video/stream {served} (" + ", ".join(
            f"{unit} {state.replace('_', ' ')}" for unit, state in units.items()) + ")"


def flag_of(state: str) -> str:
    return "true" if state == "enabled" else "false"


def stream_served(units: dict[str, str]) -> bool:
    """The stream is served only when every unit converged is enabled (router lines present, flag true)."""
    return all(state == "enabled" for state in units.values())


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


def declared_state(data) -> dict[str, str]:
    declared = require(data, "phase17_declared_state")
    return {unit: choice(declared.get(unit, "enabled"), STATES, f"phase17_declared_state[{unit}]") for unit in UNITS}


def recorded_state(recorded: dict[str, str] | None) -> tuple[dict[str, str], str | None]:
    """The units a run recorded, and the state recorded as the former single unit ``websocket``
    (None, or once a per-method unit is recorded)."""
    recorded = recorded or {}
    known = {unit: state for unit, state in recorded.items() if unit in UNITS and state in STATES}
    legacy = recorded.get(LEGACY_UNIT)
    return known, legacy if legacy in STATES and not known else None


def desired_state(data, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges, and whether all of it comes from the host's record.

    A rollback or enable converges the unit of ``phase17_method``; a converge run (``target``
    None) converges every unit to its recorded state; a unit with no record to its declared state
    only where ``rollbook_converge_declared`` allows it (else it is left alone). A unit whose
    method main.py's shape does not allow is left alone too when only declared (``checks.converged``).
    """
    if target is not None:
        target = choice(target, STATES, "target")
        return {choice(require(data, "phase17_method"), METHODS, "phase17_method"): target}, False
    known, _ = recorded_state(recorded)
    desired = declared_state(data) if data.get("rollbook_converge_declared") else {}
    desired.update(known)
    return desired, set(known) == set(desired)


def request_from(data, desired: dict[str, str]) -> Phase17Request:
    """Validate ``data`` for a run converging ``desired``; PreflightError names the bad key."""
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
        desired={choice(unit, UNITS, "unit"): choice(state, STATES, f"{unit} state") for unit, state in desired.items()},
        method=choice(require(data, "phase17_method"), METHODS, "phase17_method"),
        settings=settings,
        health_timeout=positive_int(require(data, "phase17_health_timeout"), "phase17_health_timeout"),
        leak_cycles=positive_int(require(data, "phase17_leak_cycles"), "phase17_leak_cycles"),
        leak_max_growth_kb=positive_int(require(data, "phase17_leak_max_growth_kb"), "phase17_leak_max_growth_kb"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
    )
