"""Facts of an analyticbot API host: its state before a run, and what it shows after one::

    state = host.get_fact(AnalyticbotHost, settings=settings, recorded_file=..., timeouts=Timeouts(10, 600),
                          ref="v7.4.0", migration=True)
    state.running           # the flags in the running process's environment (None: not running)
    state.migration.columns # {'has_video', 'has_media'} present in posts
"""

import posixpath
from dataclasses import dataclass, field

from ...host import envfile, process
from ...host.sections import SectionsFact, key_values, recorded_section, recorded_units
from ...host.shell import file_inside, health_section, postgres_connect, q, timed
from ...host.timeouts import Timeouts

BACKUP_PREFIX = "posts_content_type_backup_"
MIGRATION_COLUMNS = ("has_video", "has_media")
MIGRATION_INDEXES = ("idx_posts_content_type", "idx_posts_date_content")


@dataclass(frozen=True)
class AnalyticbotPlaces:
    """Where a host of analyticbot keeps things, derived from its settings (settings.AnalyticbotSettings)."""

    env_file: str
    unit: str  # systemd | compose
    service: str  # the systemd unit, or the compose service
    project_dir: str  # the compose project (compose unit)
    checkout: str  # the app's git checkout
    log_file: str
    base_url: str  # the API as seen from the host
    database_url_key: str  # the env-file key holding the database URL
    keys: tuple[str, ...]
    version_file: str | None = None  # in the checkout: the release's version (None: not compared)
    migration_sql: str = "file"  # file: the checkout's own migration files; rollbook: rollbook's statements
    migration_rollback_file: str = "infra/db/migrations/004_rollback.sql"  # relative to the checkout
    migration_apply_file: str = "infra/db/migrations/004_content_type.sql"  # relative to the checkout
    migration_saved_columns: tuple[str, ...] = MIGRATION_COLUMNS  # of posts: saved before a rollback drops them
    health_path: str = "/health"  # under base_url
    best_times_path: str = "/analytics/predictive/best-times/{channel}"  # under base_url
    field_advanced: str = "best_day_hour_combinations"  # the best-times answer's field of each feature
    field_time_weighting: str = "time_weighted_scores"
    field_content_type: str = "content_type_breakdown"

    @property
    def feature_fields(self) -> dict[str, str]:
        """The best-times answer's field of each feature (unit -> field)."""
        return {unit: getattr(self, f"field_{unit}") for unit in ("advanced", "time_weighting", "content_type")}

    def migration_file(self, action: str) -> str:
        """The checkout's SQL file of migration 004's ``action`` (rollback or apply), as an absolute path."""
        relative = self.migration_rollback_file if action == "rollback" else self.migration_apply_file
        return posixpath.join(self.checkout, relative)


@dataclass(frozen=True)
class MigrationFile:
    """A migration SQL file in the app's checkout, as the host holds it."""

    sha256: str = ""  # '' when the file is missing
    own_transaction: bool = False  # it says BEGIN/COMMIT or CONCURRENTLY: not wrapped in a transaction


@dataclass
class Migration:
    columns: set[str] = field(default_factory=set)
    indexes: set[str] = field(default_factory=set)
    rows: int = 0
    newest_backup: str = ""
    error: str = ""
    files: dict[str, MigrationFile] = field(default_factory=dict)  # rollback, apply -> the checkout's file


@dataclass
class AnalyticbotState:
    env_file: dict[str, str] | None
    has_database_url: bool
    running: dict[str, str] | None
    process_started: float  # epoch seconds (0: not running)
    head: str  # commit checked out ('' when the checkout is not a git repository)
    checked_out_at: int  # epoch seconds of the last checkout
    dirty: int  # changed files in the checkout
    ref_commit: str | None  # the requested release ref as a commit; None: not asked, '': unknown ref
    migration: Migration | None
    recorded: dict[str, str]
    misshapen: list[str] = field(default_factory=list)  # managed keys whose line the edit does not handle


def process_section(settings: AnalyticbotPlaces) -> str:
    """``## process``: the running process's start and managed keys (``host.process``), or ``stopped``."""
    if settings.unit == "compose":
        return process.container_section(settings.project_dir, settings.service, settings.keys, "process",
                                         with_start=True)
    return process.section(settings.service, settings.keys)


# a file that manages its own transaction: psql must not wrap it in one (CONCURRENTLY cannot run inside one)
_OWN_TRANSACTION = r"^[[:space:]]*(BEGIN|COMMIT|START[[:space:]]+TRANSACTION)([[:space:];]|$)|CONCURRENTLY"


def _migration_files_section(settings: AnalyticbotPlaces) -> str:
    """``## migration_files``: per action, ``<action> <sha256> own|wrapped``, or ``<action> missing``."""
    lines = []
    for action in ("rollback", "apply"):
        path = q(settings.migration_file(action))
        lines.append(f"if [ -f {path} ]; then echo \"{action} $(sha256sum < {path} | cut -c1-64) "
                     f"$(grep -qiE {q(_OWN_TRANSACTION)} {path} && echo own || echo wrapped)\"; "
                     f"else echo '{action} missing'; fi")
    return "echo '## migration_files'; " + "; ".join(lines)


def _migration_files(lines: list[str]) -> dict[str, MigrationFile]:
    files = {}
    for line in lines:
        action, *rest = line.split()
        if len(rest) == 2:
            files[action] = MigrationFile(sha256=rest[0], own_transaction=rest[1] == "own")
    return files


class AnalyticbotHost(SectionsFact):
    """Everything an analyticbot run decides on, in one command: recorded state, env file, the running
    process (environment and start), the app checkout (and the release ref asked for), and, when a
    migration is asked for, the state of migration 004 in the database."""

    def command(self, settings: AnalyticbotPlaces, recorded_file: str, timeouts: Timeouts, ref: str | None = None,
                migration: bool = False):
        checkout = q(settings.checkout)
        parts = [
            recorded_section(recorded_file),
            f"f={q(settings.env_file)}",
            envfile.section(settings.env_file, f"{envfile.read_keys(settings.env_file, settings.keys)}; "
                            f"grep -q -E {q(f'^(export[[:space:]]+)?{settings.database_url_key}=')} \"$f\" "
                            "&& echo has_database_url", '[ -f "$f" ]'),
            process_section(settings),
            f"echo '## checkout'; if git -C {checkout} rev-parse -q HEAD >/dev/null 2>&1; then "
            f"echo \"head $(git -C {checkout} rev-parse HEAD)\"; echo \"at $(stat -c %Y {checkout}/.git/HEAD)\"; "
            f"echo \"dirty $(git -C {checkout} status --porcelain --untracked-files=no | wc -l)\"; fi",
        ]
        if ref is not None:
            parts.append(f"echo '## ref'; git -C {checkout} rev-parse -q --verify {q(ref + '^{commit}')} || echo unknown")
        if migration:
            parts.append(_migration_files_section(settings))
            columns = ",".join(f"'{c}'" for c in settings.migration_saved_columns)
            indexes = ",".join(f"'{i}'" for i in MIGRATION_INDEXES)
            sql = (f"SET statement_timeout = '{int(timeouts.command)}s'; "  # the server gives up with psql
                   f"SELECT 'columns=' || coalesce(string_agg(column_name, ','), '') FROM information_schema.columns "
                   f"WHERE table_name = 'posts' AND column_name IN ({columns}); "
                   f"SELECT 'indexes=' || coalesce(string_agg(indexname, ','), '') FROM pg_indexes "
                   f"WHERE tablename = 'posts' AND indexname IN ({indexes}); "
                   "SELECT 'rows=' || count(*) FROM posts; "
                   "SELECT 'backup=' || coalesce(max(table_name), '') FROM information_schema.tables "
                   f"WHERE table_name LIKE '{BACKUP_PREFIX}%';")
            what = "reading migration 004"
            connect = postgres_connect(settings.env_file, what, settings.database_url_key, timeouts.connect)
            read = timed(f"psql \"$db\" -At -c {q(sql)}", timeouts.command, f"PostgreSQL: {what}")
            parts.append(f"echo '## migration'; ( {connect}; {read} ) 2>&1 || true")
        return "; ".join(parts)

    def parse(self, sections):
        env = sections.get("env", ["missing"])
        running = process.parse(sections.get("process", []))
        checkout = dict(line.split(" ", 1) for line in sections.get("checkout", []) if " " in line)
        ref_lines = sections.get("ref")
        migration = None
        if "migration" in sections:
            values = key_values(sections["migration"])
            if "rows" in values:
                migration = Migration(columns={c for c in values.get("columns", "").split(",") if c},
                                      indexes={i for i in values.get("indexes", "").split(",") if i},
                                      rows=int(values["rows"]), newest_backup=values.get("backup", ""))
            else:
                migration = Migration(error=(sections["migration"] or ["PostgreSQL did not answer"])[-1])
            migration.files = _migration_files(sections.get("migration_files", []))
        return AnalyticbotState(
            env_file=envfile.values(env),
            has_database_url="has_database_url" in env,
            running=running.env if running else None, process_started=running.started if running else 0,
            head=checkout.get("head", ""), checked_out_at=int(checkout.get("at", "0") or 0),
            dirty=int(checkout.get("dirty", "0") or 0),
            ref_commit=None if ref_lines is None else ("" if ref_lines[:1] in ([], ["unknown"]) else ref_lines[0]),
            migration=migration,
            recorded=recorded_units(sections.get("recorded", []), "analyticbot"),
            misshapen=envfile.misshapen(env),
        )


@dataclass
class AnalyticbotObservation:
    running: dict[str, str] | None
    health_code: int
    health: str  # the body of /health
    log_tail: list[str]  # the log from the last "Feature flags" line on
    best_times_code: int
    best_times_seconds: float
    best_times: str  # the body
    checkout_version: str | None = None  # the checkout's version file (None: not read)


class AnalyticbotEffect(SectionsFact):
    """What the API shows after a run: the process environment, /health (waited for), the log since
    the process last logged its feature flags, and the best-times endpoint called with the token
    in ``header_file`` (uploaded by the verification, removed here)."""

    def command(self, settings: AnalyticbotPlaces, header_file: str, channel: str, days: int,
                health_timeout: int, release: bool = False):
        base = settings.base_url
        named = f"{settings.checkout}/{settings.version_file}"
        version = ([f"echo '## version'; if {file_inside(named)}; then head -n 1 {q(named)} 2>/dev/null; fi"]
                   if release and settings.version_file else [])
        return "; ".join(version + [
            process_section(settings),
            health_section(base + settings.health_path, health_timeout),
            f"echo '## log'; tac {q(settings.log_file)} 2>/dev/null | sed '/Feature flags/q' | tac",
            f"echo '## best_times'; b=$(mktemp); curl -s -o \"$b\" -w '%{{http_code}} %{{time_total}}\\n' --max-time 30 "
            f"-H @{q(header_file)} {q(base + settings.best_times_path.replace('{channel}', channel) + f'?days={int(days)}')}; "
            f"rm -f {q(header_file)}; cat \"$b\" 2>/dev/null; echo; rm -f \"$b\"",
        ])

    def parse(self, sections):
        health = sections.get("health", ["0"])
        best = sections.get("best_times", ["0 0"])
        code, _, seconds = (best[0] if best else "0 0").partition(" ")
        return AnalyticbotObservation(
            running=process.running_env(sections.get("process", [])),
            health_code=int(health[0]) if health and health[0].isdigit() else 0,
            health="\n".join(health[1:]).strip(),
            log_tail=sections.get("log", []),
            best_times_code=int(code) if code.isdigit() else 0,
            best_times_seconds=float(seconds or 0),
            best_times="\n".join(best[1:]).strip(),
            checkout_version=(sections["version"] or [""])[0].strip() if "version" in sections else None,
        )
