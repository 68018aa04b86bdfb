"""Merge one run's record into the host's state file: runs ON THE HOST with ``python3 -c`` (standard
library only), under the host-wide flock, from ``rollbook.pipeline.record.record_command``.

Arguments: the state file, the system, and the update as JSON: ``{"units": {...}, "drop": [unit, ...],
"sources": {...}, "drop_sources": [unit, ...], ...}``. Units and sources merge key by key ("sources"
only when given); every other key replaces the system's. The file is written whole (0600) by a rename::

    flock /var/lib/rollbook/.state.lock python3 -c "$(cat state_merge.py)" /var/lib/rollbook/state.json \\
        vision '{"units": {"b": "rolled_back"}, "run_id": "r1"}'
"""
import json
import os
import sys


def merged(state: dict, system: str, update: dict) -> dict:
    current = state.setdefault(system, {})
    units = current.setdefault("units", {})
    units.update(update.pop("units"))
    for unit in update.pop("drop", []):
        units.pop(unit, None)
    sources = update.pop("sources", None)
    if sources is not None:
        current.setdefault("sources", {}).update(sources)
    for unit in update.pop("drop_sources", []):
        current.get("sources", {}).pop(unit, None)
    current.update(update)
    return state


def main(path: str, system: str, update: str):
    state = {}
    if os.path.exists(path):
        with open(path) as handle:
            state = json.load(handle)
    staged = path + ".tmp"
    os.umask(0o077)
    with open(staged, "w") as handle:
        handle.write(json.dumps(merged(state, system, json.loads(update)), indent=2, sort_keys=True) + "\n")
    os.chmod(staged, 0o600)
    os.replace(staged, path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
