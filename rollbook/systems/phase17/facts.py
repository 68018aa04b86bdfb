"""Facts of a phase17 server host: its state before a run, and what it shows after one::

    state = host.get_fact(Phase17Host, settings=settings, recorded_file="/var/lib/rollbook/state.json")
    state.main.router            # {import line: commented?, include line: commented?} of main.py
    state.main.guarded           # main.py has the runbook's ``if STREAMING_ENABLED:`` guard
    state.running                # {'STREAMING_ENABLED': 'true'} from the process (None: not running)
    seen = host.get_fact(Phase17Effect, settings=settings, health_timeout=30, cycles=20)
    seen.upgrade_status          # 101 | 403 | ...
"""

from dataclasses import dataclass, field

from ...host import process
from ...host.envfile import misshapen, read_keys, section, values
from ...host.process import Process
from ...host.scripts import source
from ...host.sections import SectionsFact, recorded_section, recorded_units
from ...host.shell import q

# the runbook's two lines (Method 1 comments them out; Method 3 indents them under the guard)
IMPORT_LINE = "from app.api_routes.routes.video_stream import router as video_stream_router"
INCLUDE_LINE = "app.include_router(video_stream_router)"
ROUTER_LINES = (IMPORT_LINE, INCLUDE_LINE)
COMMENT = "# "
FLAG = "STREAMING_ENABLED"
GUARD = f"if {FLAG}:"


@dataclass(frozen=True)
class Phase17Places:
    """Where a host of phase17 keeps things, derived from its settings (settings.Phase17Settings)."""

    server_dir: str  # the checkout's server/ folder (the unit's working directory)
    main_file: str  # relative to server_dir: app/main.py
    settings_file: str  # relative to server_dir: settings.py
    env_file: str  # the unit's EnvironmentFile
    service: str  # the systemd unit
    venv: str  # the server's own virtualenv
    base_url: str  # the server as seen from the host
    stream_path: str  # the WebSocket endpoint with its query
    health_path: str
    suites: tuple[str, ...]  # test folders relative to server_dir (Phase 15, Phase 16)
    test_timeout: int

    @property
    def main_path(self) -> str:
        return f"{self.server_dir.rstrip('/')}/{self.main_file}"

    @property
    def settings_path(self) -> str:
        return f"{self.server_dir.rstrip('/')}/{self.settings_file}"


@dataclass
class MainFile:
    """What main.py says about the stream router (from its lines naming it or the flag)."""

    mtime: float  # epoch seconds, sub-second
    router: dict[str, bool]  # runbook line -> commented out (only lines found exactly once at column 0)
    missing: list[str] = field(default_factory=list)  # runbook lines not found exactly once at column 0
    guarded: bool = False  # ``if STREAMING_ENABLED:`` with both lines active and indented under it


def parse_main(lines: list[str]) -> MainFile | None:
    """``## main``: ``missing``, or ``mtime <epoch>`` then ``grep -n`` lines naming the router or the flag."""
    if not lines or lines[0] == "missing":
        return None
    mtime = float(lines[0].split()[1]) if lines[0].startswith("mtime ") else 0.0
    texts = [line.partition(":")[2] for line in lines[1:] if ":" in line]
    router, missing = {}, []
    for wanted in ROUTER_LINES:
        active, commented = texts.count(wanted), texts.count(COMMENT + wanted)
        if active + commented == 1:
            router[wanted] = commented == 1
        else:
            missing.append(wanted)
    indented = {text.strip() for text in texts if text[:1] in (" ", "\t")}
    guarded = GUARD in texts and set(ROUTER_LINES) <= indented
    return MainFile(mtime=mtime, router=router, missing=missing, guarded=guarded)


@dataclass
class Phase17State:
    main: MainFile | None  # None: main.py not found
    settings_define_flag: bool  # settings.py defines STREAMING_ENABLED
    env_file: dict[str, str] | None  # the flag as the env file holds it (None: no env file)
    process: Process | None
    recorded: dict[str, str]
    misshapen: list[str] = field(default_factory=list)  # the flag, when its line has a shape the edit does not handle

    @property
    def running(self) -> dict[str, str] | None:
        """The flag in the running process's environment; None when the server is not running."""
        return None if self.process is None else self.process.env

    @property
    def runs_old_code(self) -> bool:
        """The process started before main.py was last modified."""
        return bool(self.process and self.main and self.main.mtime > self.process.started)


class Phase17Host(SectionsFact):
    """Everything a phase17 run decides on, in one command: recorded state, main.py's router lines
    and guard (and when it last changed), settings.py's flag, the env file's flag, the process."""

    def command(self, settings: Phase17Places, recorded_file: str):
        main = q(settings.main_path)
        return "; ".join([
            recorded_section(recorded_file),
            f"echo '## main'; if [ -f {main} ]; then echo \"mtime $(stat -c %.9Y {main})\"; "
            f"grep -n -e video_stream_router -e {FLAG} {main} || true; else echo missing; fi",
            f"echo '## settings'; grep -qs '^{FLAG} *=' {q(settings.settings_path)} && echo defined || echo undefined",
            section(settings.env_file, read_keys(settings.env_file, [FLAG])),
            process.section(settings.service, (FLAG,)),
        ])

    def parse(self, sections):
        env = sections.get("env", ["missing"])
        return Phase17State(
            main=parse_main(sections.get("main", [])),
            settings_define_flag=sections.get("settings", [""])[:1] == ["defined"],
            env_file=values(env),
            process=process.parse(sections.get("process", [])),
            recorded=recorded_units(sections.get("recorded", []), "phase17"),
            misshapen=misshapen(env),
        )


PROBE = source("ws_probe", __file__)  # runs on the host: rollbook/systems/phase17/scripts/ws_probe.py


@dataclass
class Phase17Observation:
    process: Process | None
    health_code: int
    upgrade_status: int  # the status line's code of a real WebSocket upgrade request (0: no answer)
    accepted: bool  # 101 with the right Sec-WebSocket-Accept
    message: str  # the first message after 101 (or why the upgrade failed)
    rss_before_kb: int  # -1: not measured
    rss_after_kb: int
    cycles_error: str
    suites: dict[str, tuple[int, str]] = field(default_factory=dict)  # folder -> (exit code, last line)

    @property
    def rss_growth_kb(self) -> int | None:
        if self.rss_before_kb < 0 or self.rss_after_kb < 0:
            return None
        return self.rss_after_kb - self.rss_before_kb


class Phase17Effect(SectionsFact):
    """What the server shows after a run: the process, a real WebSocket upgrade's status, memory
    over ``cycles`` stream connect/disconnect cycles (0: not measured), and each test suite run with
    the server's own virtualenv from ``server_dir`` (exit code and summary line)."""

    def command(self, settings: Phase17Places, health_timeout: int, cycles: int = 0):
        python = q(f"{settings.venv.rstrip('/')}/bin/python")
        probe = (f"echo '## probe'; {python} -I - {q(settings.base_url)} {q(settings.stream_path)} "
                 f"{q(settings.health_path)} {int(health_timeout)} \"$pid\" {int(cycles)} <<'ROLLBOOK_PROBE'\n"
                 f"{PROBE}\nROLLBOOK_PROBE\n")
        suites = [f"echo {q('## suite ' + suite)}; out=$(cd {q(settings.server_dir)} && "
                  f"timeout {int(settings.test_timeout)} env PYTHONDONTWRITEBYTECODE=1 {python} -m pytest {q(suite)} "
                  f"-q -p no:cacheprovider 2>&1); echo \"exit $?\"; printf '%s\\n' \"$out\" | grep -v '^ *$' | tail -n 1"
                  for suite in settings.suites]
        # the heredoc ends the probe's line: what follows starts a new line, not with "; "
        return f"{process.section(settings.service, (FLAG,))}; {probe}" + "; ".join(suites or ["true"])

    def parse(self, sections):
        probe = dict(line.split(" ", 1) if " " in line else (line, "") for line in sections.get("probe", []))
        upgrade = probe.get("upgrade", "0 not-accepted").split()
        rss = probe.get("rss", "-1 -1").split()
        suites = {}
        for name, lines in sections.items():
            if name.startswith("suite "):
                code = lines[0].split()[1] if lines and lines[0].startswith("exit ") else "-1"
                suites[name[len("suite "):]] = (int(code) if code.lstrip("-").isdigit() else -1,
                                                lines[-1] if len(lines) > 1 else "")
        health = probe.get("health", "0")
        return Phase17Observation(
            process=process.parse(sections.get("process", [])),
            health_code=int(health) if health.isdigit() else 0,
            upgrade_status=int(upgrade[0]) if upgrade and upgrade[0].isdigit() else 0,
            accepted=upgrade[1:2] == ["accepted"],
            message=probe.get("message", ""),
            rss_before_kb=int(rss[0]) if rss[0].lstrip("-").isdigit() else -1,
            rss_after_kb=int(rss[1]) if len(rss) > 1 and rss[1].lstrip("-").isdigit() else -1,
            cycles_error=probe.get("cycles", ""),
            suites=suites,
        )
