"""The phase17 request: what one run must do on one host, from its validated settings. One unit per
method, each ``enabled`` or ``rolled_back``: ``router`` (the runbook's two ``video_stream`` lines of
main.py, Method 1) and ``flag`` (``STREAMING_ENABLED`` in the unit's env file, Method 3)."""

from dataclasses import dataclass

from ...pipeline.stages import STATES, to_record
from ..settings_types import places_of
from .facts import Phase17Places

SYSTEM, GROUP = "phase17", "phase17_server"
ROUTER, FLAG_UNIT = "router", "flag"
UNITS = (ROUTER, FLAG_UNIT)  # one unit per method
LEGACY_UNIT = "websocket"  # what runs recorded before the per-method units: the method main.py's shape allows


@dataclass(frozen=True)
class Phase17Request:
    desired: dict[str, str]  # unit (router | flag) -> enabled | rolled_back, for the units this run converges
    method: str  # phase17_method: the unit a rollback or enable converges
    settings: Phase17Places
    leak_cycles: int
    leak_max_growth_kb: int
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


def scope_of(settings) -> dict[str, str]:
    """What an approval binds: the method asked for."""
    return {"phase17_method": settings.phase17_method}


def recorded_state(recorded: dict[str, str] | None) -> tuple[dict[str, str], str | None]:
    """The units a run recorded, and the state recorded as the former single unit ``websocket``
    (None, or once a per-method unit is recorded)."""
    recorded = recorded or {}
    known = {unit: state for unit, state in recorded.items() if unit in UNITS and state in STATES}
    legacy = recorded.get(LEGACY_UNIT)
    return known, legacy if legacy in STATES and not known else None


def desired_state(settings, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges (a rollback or enable: the unit of ``phase17_method``; a
    converge run: ``to_record``), and whether all of it comes from the host's record."""
    if target is not None:
        return {settings.phase17_method: target}, False
    return to_record(settings, recorded, UNITS, lambda: settings.phase17_declared_state)


def request_from(settings, desired: dict[str, str]) -> Phase17Request:
    """What a run converging ``desired`` does on a host with these (validated) settings."""
    places = places_of(Phase17Places, settings, "phase17_", service=settings.phase17_systemd_unit,
                       base_url=settings.phase17_base_url.rstrip("/"), suites=settings.phase17_test_suites)
    return Phase17Request(
        desired=dict(desired), method=settings.phase17_method, settings=places,
        leak_cycles=settings.phase17_leak_cycles, leak_max_growth_kb=settings.phase17_leak_max_growth_kb,
    )
