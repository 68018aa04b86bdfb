"""The phase17 server's data keys (group phase17_server; runbook 002), declared once.

    >>> Phase17Settings(phase17_method="flag").phase17_method
    'flag'
"""

import re
from typing import Annotated, ClassVar, Literal

from pydantic import StringConstraints, field_validator, model_validator

from ...pipeline.settings import Positive, SafePath
from ...core.schema import Settings, key
from ..settings_types import (RELATIVE_PATH, RelativePath, State, UnitName, confined, declared_states, items, path_key,
                              relative_key)

Unit = Literal["router", "flag"]

# The server as seen from the host: plain http (the verify's WebSocket upgrade speaks ws://).
HttpOnlyUrl = Annotated[str, StringConstraints(
    pattern=r"\Ahttp://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?(?:/[^\s'\"`$\\]*)?\Z")]  # loopback
# An absolute URL path, with its query.
UrlPath = Annotated[str, StringConstraints(pattern=r"\A/[^\s'\"`$\\]*\Z")]


class Phase17Settings(Settings):
    """The phase17 server's WebSocket stream: how it is turned off and on, where the server lives, its checks."""

    title: ClassVar[str] = "Phase17 server (group phase17_server; runbook 002)"

    phase17_method: Literal["router", "flag"] = key(
        "router", "How the stream is turned off and on: router comments out (enable: restores) the runbook's two "
        "lines in main.py (Method 1); flag sets STREAMING_ENABLED in the unit's env file and needs main.py's "
        "`if STREAMING_ENABLED:` guard (Method 3)", origin="runbook 002", allowed="router, flag")
    phase17_declared_state: dict[Unit, State] = declared_states(
        Unit, "The state of each unit (router: main.py's two lines; flag: STREAMING_ENABLED) on a host that has no "
        "recorded state yet (deploys/converge.py, with rollbook_converge_declared); a unit whose method main.py's "
        "shape does not allow (flag: no `if STREAMING_ENABLED:` guard; router: its lines not at column 0) is "
        "left alone")

    # --- where the server lives on a host --------------------------------------------------------
    phase17_server_dir: SafePath = path_key("/srv/phase17/server", "The server folder", origin="rollbook")
    phase17_main_file: RelativePath = relative_key("app/main.py", "The server's main.py", "the server folder",
                                                   origin="runbook 002")
    phase17_settings_file: RelativePath = relative_key("settings.py", "The server's settings file", "the server folder",
                                                       origin="runbook 002")
    phase17_env_file: SafePath = path_key("/srv/phase17/server.env", "The unit's EnvironmentFile", origin="rollbook")
    phase17_venv: SafePath = path_key("/srv/phase17/venv", "The server's own virtualenv (runs the test suites too)",
                                      origin="rollbook")
    phase17_systemd_unit: UnitName = key("phase17-server", "The systemd unit running the server (uvicorn)",
                                         origin="rollbook")

    # --- verification ----------------------------------------------------------------------------
    phase17_base_url: HttpOnlyUrl = key("http://127.0.0.1:8000", "The server as seen from the host",
                                        origin="runbook 002",
                                    allowed="an http:// URL")
    phase17_health_path: UrlPath = key(
        "/v1/health", "The server's health path (rollbook's assumption: runbook 002 names only the /v1/* endpoints)",
        origin="rollbook", allowed="an absolute URL path")
    phase17_stream_path: UrlPath = key(
        "/ws/video/stream?pipeline_id=yolo_ocr", "The stream endpoint the verify upgrades to", origin="runbook 002",
        allowed="an absolute URL path")
    phase17_health_timeout: Positive = key(
        30, "Seconds to wait for the health path after a restart", origin="rollbook", allowed="1 or more")
    phase17_test_suites: str | list[str] = key(
        ["app/tests/video", "tests/api"], "The Phase 15 and Phase 16 suites the verify runs (pytest folders "
        "relative to the server folder)",
        origin="runbook 002", allowed="relative paths (a list or comma-separated text)")
    phase17_test_timeout: Positive = key(300, "Seconds each test suite may take",
                                         origin="rollbook", allowed="1 or more")
    phase17_leak_cycles: Positive = key(
        20, "Stream connect/disconnect cycles of the session-leak check after enable",
        origin="rollbook", allowed="1 or more")
    phase17_leak_max_growth_kb: Positive = key(
        8192, "How much the server's resident memory (VmRSS) may grow over those cycles, in kB", origin="rollbook",
        allowed="1 or more")

    @field_validator("phase17_test_suites")
    @classmethod
    def _relative_suites(cls, value) -> tuple[str, ...]:
        """The suites, each a path relative to the server folder."""
        suites = items(value)
        if not suites:
            raise ValueError("no suite (the runbook's Phase 15 and 16 suites)")
        wrong = [suite for suite in suites if not re.search(RELATIVE_PATH, suite)]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not a path relative to phase17_server_dir")
        return tuple(suites)

    @model_validator(mode="after")
    def _paths_confined(self):
        """The env file and the virtualenv inside the server folder's parent (``/srv/phase17``)."""
        confined(self, {"phase17_server_dir": "phase17_server_dir"}, {})
        root = self.phase17_server_dir.rsplit("/", 1)[0]
        confined(self, {}, {"phase17_env_file": root, "phase17_venv": root})
        return self
