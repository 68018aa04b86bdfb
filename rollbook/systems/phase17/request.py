"""The phase17 request: what one run must do on one host, validated from its host data.

``scope_of`` (what an approval binds: the method) and ``request_from`` (data -> ``Phase17Request``;
PreflightError names the bad key).
"""

import re
from dataclasses import dataclass

from ...preflight import PreflightError, choice, positive_int, require
from .facts import Phase17Settings

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
