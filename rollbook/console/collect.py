"""What the hosts hold, read as the CLI reads it: runs made elsewhere (pyinfra on any controller, drift
corrections, the timer's included) collected into the console's history from each host's own record
(``rollbook history INVENTORY --json``), and the locks held now (``rollbook locks INVENTORY --json``)::

    added = collect(store, "prod", "inventories/prod.py")     # rows seen; runs the console made are skipped
    locks_of("inventories/prod.py")       # [{"host", "system", "operator", "since", "expires", "run_id", ...}]
    drift_tick(store, Path("/var/lib/rollbook-drift/drift.json"), "prod")   # the timer's last check
    shard_reports(Path("/var/lib/rollbook-drift/drift.json"))   # it, and each shard's (drift.shardI.json)
"""

import json
import subprocess
import sys
from pathlib import Path

from ..cli.shards import shard_index
from ..core.paths import checkout
from ..core.runs import utc_time
from .store import Store

# a host record's outcome -> a run's status (any other outcome: failed)
OUTCOMES = {"converged": "succeeded", "no_change": "succeeded", "refused": "refused", "unproven": "unproven"}
TICK_STATUS = {"converged": "succeeded", "drift": "failed", "error": "failed"}  # a drift check's result
COLLECT_TIMEOUT = 600


class CollectError(Exception):
    """The hosts' history could not be read; the message names the inventory and the error line."""


def source_of(row: dict) -> str:
    return "drift correction" if str(row.get("kind", "")).startswith("drift") else "cli"


def shard_reports(report: Path) -> list[Path]:
    """``report`` and the reports of the timer's shards beside it (``drift.shardI.json``), those that exist."""
    shards = [path for path in report.parent.glob(f"{report.stem}.shard*{report.suffix}")
              if shard_index(str(path), str(report)) is not None]
    return [path for path in [report, *sorted(shards)] if path.is_file()]


def drift_tick(store: Store, report: Path, environment: str) -> bool:
    """The drift timer's last check (its JSON report, as of the file's time; a shard's report, each shard a
    row of its own) as a history row; False when the timer has not reported yet."""
    try:
        when = report.stat().st_mtime
        checked = json.loads(report.read_text())
    except (OSError, ValueError):
        return False
    hosts = {row["host"]: row.get("result", "") for row in checked.get("hosts", []) if isinstance(row, dict)}
    shard = report.stem.rpartition(".")[2] if ".shard" in report.stem else ""  # two shards may end in one second
    store.collected(f"drift-timer{':' + shard if shard else ''}:{when:.0f}", source="drift timer", requester="drift timer", system="all",
                    action="drift check", environment=environment, hosts=hosts,
                    status=TICK_STATUS.get(checked.get("result"), "failed"), started=when, finished=when)
    return True


def _read(command: str, inventory: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "rollbook", command, inventory, "--json"], cwd=checkout(),
                          capture_output=True, text=True, timeout=COLLECT_TIMEOUT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CollectError(f"rollbook {command} {inventory}: {last}")
    return json.loads(done.stdout)


def locks_of(inventory: str) -> list[dict]:
    """The locks the inventory's hosts hold now."""
    return _read("locks", inventory)


def collect(store: Store, environment: str, inventory: str) -> int:
    """Add or update one history row per (host, run, system) the inventory's hosts recorded; the console's
    own runs (their records name ``console_run``) are already there."""
    rows = [row for row in _read("history", inventory) if not row.get("console_run")]
    for row in rows:
        status = OUTCOMES.get(row.get("outcome", ""), "failed" if row.get("event") != "started" else "running")
        store.collected(f"{row['run_id']}:{row['host']}:{row['system']}", source=source_of(row),
                        requester=str(row.get("operator", "")), system=row["system"], action=str(row.get("kind", "")),
                        environment=environment, hosts={row["host"]: status}, status=status,
                        started=utc_time(row.get("started_at") or row["at"]).timestamp(),
                        finished=utc_time(row["at"]).timestamp())
    return len(rows)
