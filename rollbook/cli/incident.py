"""Incident reports: the runbook's post-rollback report, rendered from a host's history record.

    python -m rollbook incident --inventory inventories/prod.py --host vision-worker-01 --run 20261123T181503Z-ab12cd
"""

from ..core import history
from .remote import read_everywhere
from ..systems import post_rollback


def report(inventory: str, host: str, run_id: str, state_dir: str = "/var/lib/rollbook") -> str:
    found = read_everywhere(inventory, f"{state_dir}/history.jsonl", hosts=[host])
    if host not in found:
        raise LookupError(f"no host {host} in {inventory}")
    ok, text = found[host]
    if not ok:
        raise LookupError(f"could not read the history of {host}: {text}")
    rows = [row for row in history.runs_of(history.parse(text, host)) if row["run_id"] == run_id]
    if not rows:
        raise LookupError(f"no run {run_id} in the history of {host}")
    return history.incident_report(rows, host, run_id, post_rollback())
