"""The analyticbot request: what one run must do on one host, from its validated settings, and what the
API does with a set of flags (``effective``)."""

from dataclasses import dataclass, field

from ..settings_types import places_of
from .facts import AnalyticbotPlaces
from ...pipeline.stages import to_record

SYSTEM, GROUP = "analyticbot", "analyticbot_api"
MASTER, TIME_WEIGHTING, CONTENT_TYPE = ("ENABLE_ADVANCED_RECOMMENDATIONS", "ENABLE_TIME_WEIGHTING",
                                        "ENABLE_CONTENT_TYPE_ANALYSIS")
FLAG_OF = {"advanced": MASTER, "time_weighting": TIME_WEIGHTING, "content_type": CONTENT_TYPE}  # unit -> flag
# what a scope converges: a full rollback turns the master off (the quick rollback); enabling all
# turns everything on; a partial scope touches its own flag only (the runbook's scenarios A and B)
UNITS_OF = {("all", "rolled_back"): ("advanced",), ("all", "enabled"): ("advanced", "time_weighting", "content_type"),
            ("time_weighting", "rolled_back"): ("time_weighting",), ("time_weighting", "enabled"): ("time_weighting",),
            ("content_type", "rolled_back"): ("content_type",), ("content_type", "enabled"): ("content_type",)}


@dataclass(frozen=True)
class AnalyticbotRequest:
    desired: dict[str, str]  # unit -> enabled | rolled_back
    env: dict[str, str]
    migration: str | None
    release: str | None
    settings: AnalyticbotPlaces
    max_seconds: float
    target: str | None = None  # enabled | rolled_back; None: a converge run to the recorded state
    from_record: bool = False  # every unit converges to the host's recorded state
    token: str = field(default="", repr=False, compare=False)  # the API token (a secret): never shown

    def describe(self) -> str:
        parts = [f"{unit} {state.replace('_', ' ')}" for unit, state in self.desired.items()]
        if self.migration:
            parts.append(f"migration 004 {self.migration}")
        if self.release:
            parts.append(f"release {self.release}")
        return ", ".join(parts)


def scope_of(settings) -> dict[str, str]:
    """What an approval binds: the features, the migration and the release asked for."""
    return {"analyticbot_features": settings.analyticbot_features,
            "analyticbot_migration": settings.analyticbot_migration or "none",
            "analyticbot_release": settings.analyticbot_release or "none"}


def desired_state(settings, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges (a rollback or enable: the units of ``analyticbot_features``;
    a converge run: ``to_record``), and whether all of it comes from the host's record."""
    if target is not None:
        return {unit: target for unit in UNITS_OF[(settings.analyticbot_features, target)]}, False
    return to_record(settings, recorded, FLAG_OF, lambda: settings.analyticbot_declared_state)


def request_from(settings, desired: dict[str, str], converge: bool = False) -> AnalyticbotRequest:
    """What a run converging ``desired`` does on a host with these (validated) settings."""
    service = (settings.analyticbot_systemd_unit if settings.analyticbot_unit == "systemd"
               else settings.analyticbot_compose_service)
    places = places_of(AnalyticbotPlaces, settings, "analyticbot_", service=service, keys=tuple(FLAG_OF.values()),
                       base_url=settings.analyticbot_base_url.rstrip("/"))
    return AnalyticbotRequest(
        desired=dict(desired), env={FLAG_OF[u]: "true" if s == "enabled" else "false" for u, s in desired.items()},
        migration=None if converge else settings.analyticbot_migration,
        release=None if converge else settings.analyticbot_release, settings=places,
        max_seconds=float(settings.analyticbot_max_response_seconds),
    )


def effective(values: dict[str, str]) -> dict[str, bool]:
    """What the API does with these flags: sub-features only count under the master flag."""
    advanced = values.get(MASTER) == "true"
    return {unit: advanced and values.get(flag) == "true" for unit, flag in FLAG_OF.items()}
