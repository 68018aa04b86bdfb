"""Facts of a vision worker host: its state before a run, and what it shows after one::

    state = host.get_fact(VisionHost, settings=settings, recorded_file=..., timeouts=Timeouts(10, 600), window=2)
    state.env_file            # {'VISION_PHASH_ENABLED': 'true', ...} or None when missing
    state.phash_keys          # keys under the phash prefix (None: Redis did not answer)
"""

from dataclasses import dataclass, field

from ...core import metrics
from ...host import process
from ...host.envfile import misshapen, read_keys, section, values
from ...host.sections import SectionsFact, recorded_section, recorded_units, whole
from ...host.shell import REDIS_CLI, file_inside, health_section, postgres_connect, q, redis_connect, timed
from ...host.timeouts import Timeouts



@dataclass(frozen=True)
class VisionPlaces:
    """Where a vision host keeps things, derived from its settings (settings.VisionSettings)."""

    env_file: str
    project_dir: str
    service: str
    experiments_file: str
    metrics_url: str
    phash_prefix: str
    low_stream: str
    keys: tuple[str, ...]  # every env key rollbook manages for vision
    uploaded_stream: str  # the stream the worker consumes (the probe goes there)
    consumer_group: str  # the worker's consumer group on it
    health_path: str | None = None  # under metrics_url; None: ready when /metrics answers

    @property
    def ready_url(self) -> str:
        """What answers 200 once the worker is ready: its health endpoint, else its /metrics."""
        return self.metrics_url + (self.health_path or "/metrics")

    @property
    def ready_setting(self) -> str:
        """The data key to change when ``ready_url`` is not served."""
        return "vision_health_path" if self.health_path else "vision_metrics_url (or vision_health_path)"


@dataclass
class VisionState:
    env_file: dict[str, str] | None  # managed keys as the file holds them; None: no file
    container: dict[str, str] | None  # managed keys in the running worker; None: not running
    experiments: str | None  # vision_experiments.yml as it is; None: no file
    phash_keys: int | None  # None: Redis did not answer (redis_error says why)
    low_stream_length: int | None
    redis_error: str = ""
    context_rows: int | None = None  # post_enrichment rows holding analysis.context (when asked)
    baseline: dict[str, float] = field(default_factory=dict)  # vision_* metrics at the start
    later: dict[str, float] = field(default_factory=dict)  # the same, `window` seconds later
    recorded: dict[str, str] = field(default_factory=dict)  # wave -> state rollbook last converged it to
    misshapen: list[str] = field(default_factory=list)  # managed keys whose line the edit does not handle


def _redis_section(settings: VisionPlaces, timeouts: Timeouts) -> str:
    pattern = q(f"{settings.phash_prefix}:*")
    count = timed(f"echo \"ok $({REDIS_CLI} --scan --pattern {pattern} | wc -l) "
                  f"$({REDIS_CLI} XLEN {q(settings.low_stream)})\"", timeouts.command,
                  "Redis: reading vision keys")
    return (f"echo '## redis'; ( {redis_connect(settings.env_file, 'reading vision keys', timeouts.connect)}; "
            f"{count} ) 2>&1 | tail -n 1")


def _metrics_section(name: str, settings: VisionPlaces) -> str:
    return f"echo '## {name}'; curl -fsS --max-time 5 {q(settings.metrics_url + '/metrics')} 2>/dev/null | grep '^vision_' || true"


def _count_or_error(lines: list[str]) -> tuple[list[int] | None, str]:
    line = lines[0] if lines else "no answer"
    if line.startswith("ok "):
        return [int(part) for part in line.split()[1:]], ""
    return None, line


class VisionHost(SectionsFact):
    """Everything a vision run decides on, in one command: env file, running worker, experiments,
    Redis counts, optionally the rows holding ``analysis.context``, and the vision metrics
    (scraped twice, ``window`` seconds apart, when ``window`` > 0)."""

    def command(self, settings: VisionPlaces, recorded_file: str, timeouts: Timeouts, window: int = 0,
                count_context: bool = False):
        parts = [
            recorded_section(recorded_file),
            section(settings.env_file, read_keys(settings.env_file, settings.keys), file_inside(settings.env_file)),
            process.container_section(settings.project_dir, settings.service, settings.keys),
            f"echo '## experiments'; if {file_inside(settings.experiments_file)}; then echo present; "
            f"{whole(settings.experiments_file)}; else echo missing; fi",
            _redis_section(settings, timeouts),
            _metrics_section("metrics", settings),
        ]
        if count_context:
            what = "counting analysis.context"
            count = timed("psql \"$db\" -Atc \"SELECT 'ok ' || count(*) FROM post_enrichment "
                          "WHERE data->'analysis' ? 'context'\"", timeouts.command, f"PostgreSQL: {what}")
            connect = postgres_connect(settings.env_file, what, seconds=timeouts.connect)
            parts.append(f"echo '## context'; ( {connect}; {count} ) 2>&1 | tail -n 1")
        if window:
            parts += [f"sleep {int(window)}", _metrics_section("later", settings)]
        return "; ".join(parts)

    def parse(self, sections):
        env = sections.get("env", ["missing"])
        experiments = sections.get("experiments", ["missing"])
        counts, redis_error = _count_or_error(sections.get("redis", []))
        context = _count_or_error(sections["context"])[0] if "context" in sections else None
        return VisionState(
            env_file=values(env),
            container=process.running_env(sections.get("container", [])),
            experiments="\n".join(experiments[1:]) + "\n" if experiments[:1] == ["present"] else None,
            phash_keys=counts[0] if counts else None,
            low_stream_length=counts[1] if counts else None,
            redis_error=redis_error,
            context_rows=context[0] if context else None,
            baseline=metrics.read_scrape("\n".join(sections.get("metrics", []))),
            later=metrics.read_scrape("\n".join(sections.get("later", []))),
            recorded=recorded_units(sections.get("recorded", []), "vision"),
            misshapen=misshapen(env),
        )


@dataclass
class VisionObservation:
    container: dict[str, str] | None
    health: int  # HTTP status of the ready URL (health endpoint, else /metrics) once it answered (0: never)
    first: dict[str, float]
    second: dict[str, float]  # `window` seconds after `first`
    smoke_processed: bool | None = None  # None: no smoke test asked
    smoke_pending: int | None = None  # 1 while the smoke event's own message is pending in the group
    smoke_removed: int | None = None  # its synthetic post_enrichment rows deleted afterwards


class VisionEffect(SectionsFact):
    """What the worker shows after a run: its environment, health (waited for), two metric
    scrapes ``window`` seconds apart and, with ``smoke``, the runbook-001 smoke test (``_smoke``)."""

    def command(self, settings: VisionPlaces, window: int, health_timeout: int, timeouts: Timeouts,
                smoke: bool = False, smoke_timeout: int = 30):
        parts = [
            process.container_section(settings.project_dir, settings.service, settings.keys),
            health_section(settings.ready_url, health_timeout),
            _metrics_section("first", settings),
        ]
        if smoke:  # between the scrapes: its own media item is traffic the counters must show (or not)
            parts.append(f"echo '## smoke'; ( {_smoke(settings, int(timeouts.connect), smoke_timeout)} ) 2>&1 "
                         "| tail -n 1")
        return "; ".join(parts + [f"sleep {int(window)}", _metrics_section("second", settings)])

    def parse(self, sections):
        smoke = (sections.get("smoke") or [None])[0]
        words = (smoke or "").split() + [""] * 4  # ok <processed yes|no> <pending> <removed>, each may be missing
        pending, removed = (int(word) if word.isdigit() else None for word in words[2:4])
        health = (sections.get("health") or ["0"])[0]
        return VisionObservation(
            container=process.running_env(sections.get("container", [])),
            health=int(health) if health.isdigit() else 0,
            first=metrics.read_scrape("\n".join(sections.get("first", []))),
            second=metrics.read_scrape("\n".join(sections.get("second", []))),
            smoke_processed=None if "smoke" not in sections else words[:2] == ["ok", "yes"],  # asked: never None
            smoke_pending=pending,
            smoke_removed=removed,
        )


# the ids of the stream entries (redis-cli --json XREVRANGE) with a field holding the value argv[1]
_ENTRIES_HOLDING = ("import json, sys\n"
                    "for entry, fields in json.load(sys.stdin) or []:\n"
                    "    if sys.argv[1] in fields[1::2]:\n"
                    "        print(entry)")


def _smoke(settings: VisionPlaces, connect: int, timeout: int) -> str:
    """Runbook 001's smoke test: a VisionUploadedEventV1 with the runbook's fields published to the uploaded
    stream; its post_enrichment row analysed within ``timeout`` seconds (the runbook waits 90), then its own
    message no longer pending in the consumer group; then its synthetic row, its message (acked, deleted) and
    the traces of its media item (phash key, low-priority entry) removed. Prints
    ``ok <processed yes|no> <own message pending 0|1> <rows removed>``."""
    each = f"timeout {int(connect)}"  # one Redis or PostgreSQL call
    stream, group = q(settings.uploaded_stream), q(settings.consumer_group)
    event = ('{"schema_version":"v1","trace_id":"%s","idempotency_key":"%s:%s:%s","tenant_id":"%s",'
             '"post_id":"%s","channel_id":"rollbook-smoke","media_files":[{"sha256":"%s",'
             '"s3_key":"media/%s/%s/%s.jpg","mime_type":"image/jpeg","size_bytes":512000,'
             '"telegram_file_id":"rollbook_smoke"}],"uploaded_at":"%s"}')
    return (
        f"{redis_connect(settings.env_file, 'smoke test', connect)}; "
        + postgres_connect(settings.env_file, "smoke test", "DATABASE_URL", connect) + "; "
        "post=$(cat /proc/sys/kernel/random/uuid); trace=rollbook_smoke_$(printf %s \"$post\" | tr -d - | cut -c1-16); "
        "sha=$(printf 'rollbook_smoke_%s' \"$post\" | sha256sum | cut -d ' ' -f 1); "
        f"tenant=$(sed -n 's/^S3_DEFAULT_TENANT_ID=//p' {q(settings.env_file)} | tail -n 1 | tr -cd 'A-Za-z0-9_.-'); "
        "tenant=${tenant:-rollbook-smoke}; now=$(date -u +%Y-%m-%dT%H:%M:%S.%6N+00:00); "
        f"event=$(printf {q(event)} \"$trace\" \"$tenant\" \"$post\" \"$sha\" \"$tenant\" \"$post\" \"$sha\" "
        "\"$tenant\" \"$(printf %s \"$sha\" | cut -c1-2)\" \"$sha\" \"$now\"); "
        f"id=$({each} {REDIS_CLI} XADD {stream} '*' event \"$event\"); "
        f"done=no; for i in $(seq {int(timeout) * 2}); do "
        f"[ \"$({each} psql \"$db\" -Atc \"SELECT vision_analyzed_at IS NOT NULL FROM post_enrichment "
        "WHERE post_id = '$post'\")\" = t ] && { done=yes; break; }; sleep 0.5; done; "
        f"pending=1; for i in $(seq 20); do "
        f"[ \"$({each} {REDIS_CLI} XPENDING {stream} {group} \"$id\" \"$id\" 1 | grep -c .)\" = 0 ] "
        "&& { pending=0; break; }; sleep 0.5; done; "
        f"removed=$({each} psql \"$db\" -Atc \"WITH gone AS (DELETE FROM post_enrichment WHERE post_id = '$post' "
        "RETURNING 1) SELECT count(*) FROM gone\"); "
        # its message: out of the consumer group's pending list (a worker that never acked it, e.g. one
        # recreated while it held the message, would leave it there for good), then out of the stream
        f"{each} {REDIS_CLI} XACK {stream} {group} \"$id\" >/dev/null; "
        f"{each} {REDIS_CLI} XDEL {stream} \"$id\" >/dev/null; "
        # its traces: the phash key and low-priority entry its media item made (waves B and C on)
        f"{each} {REDIS_CLI} DEL {q(settings.phash_prefix)}:\"$sha\" >/dev/null; "
        f"for low in $({each} {REDIS_CLI} --json XREVRANGE {q(settings.low_stream)} + - COUNT 1000 "
        f"| python3 -c {q(_ENTRIES_HOLDING)} \"$sha\"); do "
        f"{each} {REDIS_CLI} XDEL {q(settings.low_stream)} \"$low\" >/dev/null; done; "
        "echo \"ok $done $pending ${removed:-x}\""
    )
