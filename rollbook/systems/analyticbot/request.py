"""The analyticbot request: what one run must do on one host, validated from its host data.

``scope_of`` (what an approval binds), ``desired_state`` (the state per unit a run converges),
``request_from`` (data -> ``AnalyticbotRequest``; PreflightError names the bad key), and
``effective`` (what the API does with a set of flags).
"""

import re
from dataclasses import dataclass, field

from ...host.timeouts import Timeouts, timeouts_of
from ...preflight import PreflightError, choice, positive_int, require
from .facts import AnalyticbotSettings
from ...pipeline.stages import to_record

SYSTEM, GROUP = "analyticbot", "analyticbot_api"
MASTER, TIME_WEIGHTING, CONTENT_TYPE = ("ENABLE_ADVANCED_RECOMMENDATIONS", "ENABLE_TIME_WEIGHTING",
                                        "ENABLE_CONTENT_TYPE_ANALYSIS")
FLAG_OF = {"advanced": MASTER, "time_weighting": TIME_WEIGHTING, "content_type": CONTENT_TYPE}  # unit -> flag
FEATURES = ("all", "time_weighting", "content_type")
STATES = ("enabled", "rolled_back")
# what a scope converges: a full rollback turns the master off (the quick rollback); enabling all
# turns everything on; a partial scope touches its own flag only (the runbook's scenarios A and B)
UNITS_OF = {("all", "rolled_back"): ("advanced",), ("all", "enabled"): ("advanced", "time_weighting", "content_type"),
            ("time_weighting", "rolled_back"): ("time_weighting",), ("time_weighting", "enabled"): ("time_weighting",),
            ("content_type", "rolled_back"): ("content_type",), ("content_type", "enabled"): ("content_type",)}
MIGRATIONS = ("rollback", "apply")
REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


@dataclass(frozen=True)
class AnalyticbotRequest:
    desired: dict[str, str]  # unit -> enabled | rolled_back
    env: dict[str, str]
    migration: str | None
    release: str | None
    settings: AnalyticbotSettings
    environment: str
    channel: str
    days: int
    max_seconds: float
    health_timeout: int
    backup_keep: int
    token_secret: str
    timeouts: Timeouts
    target: str | None = None  # enabled | rolled_back; None: a converge run to the recorded state
    from_record: bool = False  # every unit converges to the host's recorded state
    token: str = field(default="", repr=False, compare=False)  # the secret token_secret names: never shown

    def describe(self) -> str:
        parts = [f"{unit} {state.replace('_', ' ')}" for unit, state in self.desired.items()]
        if self.migration:
            parts.append(f"migration 004 {self.migration}")
        if self.release:
            parts.append(f"release {self.release}")
        return ", ".join(parts)


def _optional_choice(data, key: str, allowed) -> str | None:
    value = data.get(key)
    return None if value in (None, "", False) else choice(value, allowed, key)


def _release(data) -> str | None:
    value = data.get("analyticbot_release")
    if value in (None, "", False):
        return None
    if not REF_PATTERN.match(str(value)):
        raise PreflightError(f"analyticbot_release: {value!r} is not a git ref name")
    return str(value)


def scope_of(data) -> dict[str, str]:
    """What an approval binds: the features, the migration and the release asked for."""
    return {"analyticbot_features": choice(require(data, "analyticbot_features"), FEATURES, "analyticbot_features"),
            "analyticbot_migration": _optional_choice(data, "analyticbot_migration", MIGRATIONS) or "none",
            "analyticbot_release": _release(data) or "none"}


def declared_state(data) -> dict[str, str]:
    declared = require(data, "analyticbot_declared_state")
    return {unit: choice(declared.get(unit, "enabled"), STATES, f"analyticbot_declared_state[{unit}]")
            for unit in FLAG_OF}


def desired_state(data, target: str | None, recorded: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The state per unit this run converges, and whether all of it comes from the host's record.

    A rollback or enable converges the units of ``analyticbot_features``; a converge run (``target``
    None) converges every unit to its recorded state; a unit with no record to its declared state
    only where ``rollbook_converge_declared`` allows it (else it is left alone).
    """
    if target is not None:
        target = choice(target, STATES, "target")
        feature = choice(require(data, "analyticbot_features"), FEATURES, "analyticbot_features")
        return {unit: target for unit in UNITS_OF[(feature, target)]}, False
    return to_record(data, recorded, FLAG_OF, lambda: declared_state(data))


def request_from(data, desired: dict[str, str], converge: bool = False) -> AnalyticbotRequest:
    """Validate ``data`` for a run converging ``desired``; PreflightError names the bad key."""
    unit = choice(require(data, "analyticbot_unit"), ("systemd", "compose"), "analyticbot_unit")
    settings = AnalyticbotSettings(
        env_file=str(require(data, "analyticbot_env_file")), unit=unit,
        service=str(require(data, "analyticbot_systemd_unit" if unit == "systemd" else "analyticbot_compose_service")),
        project_dir=str(require(data, "analyticbot_project_dir")), checkout=str(require(data, "analyticbot_checkout")),
        log_file=str(require(data, "analyticbot_log_file")),
        base_url=str(require(data, "analyticbot_base_url")).rstrip("/"),
        database_url_key=str(require(data, "analyticbot_database_url_key")), keys=tuple(FLAG_OF.values()),
        version_file=str(data.get("analyticbot_version_file")) if data.get("analyticbot_version_file") else None,
    )
    return AnalyticbotRequest(
        desired=dict(desired), env={FLAG_OF[u]: "true" if s == "enabled" else "false" for u, s in desired.items()},
        migration=None if converge else _optional_choice(data, "analyticbot_migration", MIGRATIONS),
        release=None if converge else _release(data), settings=settings,
        environment=choice(require(data, "rollbook_environment"), ("sandbox", "staging", "prod"), "rollbook_environment"),
        channel=str(require(data, "analyticbot_channel")),
        days=positive_int(require(data, "analyticbot_days"), "analyticbot_days"),
        max_seconds=float(positive_int(require(data, "analyticbot_max_response_seconds"),
                                       "analyticbot_max_response_seconds")),
        health_timeout=positive_int(require(data, "analyticbot_health_timeout"), "analyticbot_health_timeout"),
        backup_keep=positive_int(require(data, "rollbook_backup_keep"), "rollbook_backup_keep"),
        token_secret=str(require(data, "analyticbot_token_secret")),
        timeouts=timeouts_of(data),
    )


def effective(values: dict[str, str]) -> dict[str, bool]:
    """What the API does with these flags: sub-features only count under the master flag."""
    advanced = values.get(MASTER) == "true"
    return {"advanced": advanced, "time_weighting": advanced and values.get(TIME_WEIGHTING) == "true",
            "content_type": advanced and values.get(CONTENT_TYPE) == "true"}
