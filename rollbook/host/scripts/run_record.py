"""A run's bookkeeping ON THE HOST (standard library only, Python 3.7 or later): the lock, the recorded
state, the history. Installed by ``deploys/bootstrap.py`` as ``<state dir>/bin/run_record.py`` (root's, 0700),
run through sudo by ``rollbook.pipeline.record`` (an enrolment sends this text with ``python3 -c``). The one
argument is a JSON document whose ``version`` must be ``PROTOCOL`` (else: exit 3 printing ``VERSION``).
Each command prints its answer first:

    begin     the host's enrolment, an approval's single use, then the lock: ACQUIRED, HELD (its
              digest and content follow), REUSED or ENROLLED (the environment follows); on ACQUIRED
              the started marker, the recorded state and the ``started`` record are written
    takeover  a compare-and-swap of a stale lock read with digest ``seen``: TAKEN, LOST or REUSED
    refresh   the lock's expiry pushed ahead while ``run_id`` holds it (exit 1: NOT HELD)
    finish    the ``finished`` record, then the lock released (only ``run_id``'s)
    fail      ``restored`` (and the state before the run put back) when the restored marker exists,
              else ``failed``; then the lock released: RESTORED or FAILED
    history   one record appended (a refusal, an enrolment)

A system's lock changes under one flock (``locks/.<system>.guard``), the state file under ``.state.lock``::

    python3 run_record.py history '{"state_dir": "/var/lib/rollbook", "history": {"event": "refused"}}'
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import re
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

PROTOCOL = 1  # what the commands take and answer: raised whenever a controller could misread another's


@contextmanager
def flocked(path: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def lock_path(args: dict) -> str:
    return f"{args['state_dir']}/locks/{args['system']}.lock"


def guard(args: dict):
    return flocked(f"{args['state_dir']}/locks/.{args['system']}.guard")


def write_private(path: str, text: str, mode: str = "w"):
    """Write (``mode`` "a": append) ``text`` to ``path``, never readable by others, and leave it 0600."""
    old = os.umask(0o077)
    try:
        with open(path, mode) as handle:
            handle.write(text)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)


def append_history(state_dir: str, record: dict):
    os.makedirs(state_dir, exist_ok=True)
    write_private(f"{state_dir}/history.jsonl", json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n", "a")


def merged(state: dict, system: str, update: dict) -> dict:
    """Units and sources merge key by key ("sources" only when given); every other key replaces the system's."""
    update = dict(update)
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


def record_state(state_dir: str, system: str, update: dict | None):
    """Merge ``update`` into the state file (written whole, 0600, by a rename); None: no system state."""
    if update is None:
        return
    path = f"{state_dir}/state.json"
    with flocked(f"{state_dir}/.state.lock"):
        state = {}
        if os.path.exists(path):
            with open(path) as handle:
                state = json.load(handle)
        write_private(path + ".tmp", json.dumps(merged(state, system, update), indent=2, sort_keys=True) + "\n")
        os.replace(path + ".tmp", path)


def read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def reused(args: dict) -> bool:
    approval = args.get("approval")
    used = read(f"{args['state_dir']}/approvals.used") or ""
    return bool(approval) and approval in used.splitlines()


def mark_used(args: dict):
    if args.get("approval"):
        write_private(f"{args['state_dir']}/approvals.used", args["approval"] + "\n", "a")


def mark_started(path: str):
    with open(path, "w") as handle:
        handle.write(datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ") + "\n")


def start(args: dict):
    """The run's start, once it holds the lock: the started marker, the recorded state, the record."""
    mark_started(args["started_marker"])
    record_state(args["state_dir"], args["system"], args.get("state"))
    append_history(args["state_dir"], args["history"])
    mark_used(args)


def folder(path: str, mode: int, owner: str | None = None):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner:
        account = pwd.getpwnam(owner)
        os.chown(path, account.pw_uid, account.pw_gid)


def begin(args: dict) -> list[str]:
    if args.get("marker"):
        enrolled = (read(args["marker"]) or "none").strip() or "none"
        if enrolled != args["environment"]:
            return ["ENROLLED", enrolled]
    folder(f"{args['state_dir']}/locks", 0o700)
    folder(args["private_dir"], 0o700)
    if args.get("uploads"):
        root, user = args["uploads"]
        folder(root, 0o711)
        folder(f"{root}/{user}", 0o700, user)
    with guard(args):
        if reused(args):
            return ["REUSED"]
        lock = lock_path(args)
        try:
            handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = read(lock) or ""
            return ["HELD", digest_of(held), *held.splitlines()]
        with os.fdopen(handle, "w") as written:
            written.write(args["info"] + "\n")
        try:
            start(args)
        except BaseException:
            os.remove(lock)  # a lock taken but not recorded is given back
            raise
    return ["ACQUIRED"]


def takeover(args: dict) -> list[str]:
    with guard(args):
        if reused(args):
            return ["REUSED"]
        lock = lock_path(args)
        held = read(lock)
        if held is None or digest_of(held) != args["seen"]:
            return ["LOST", *(held or "").splitlines()]
        with open(lock, "w") as handle:
            handle.write(args["info"] + "\n")
        start(args)
    return ["TAKEN"]


def refresh(args: dict) -> list[str]:
    with guard(args):
        lock = lock_path(args)
        held = read(lock)
        if held is None or args["run_id"] not in held:
            return ["NOT HELD"]
        with open(lock, "w") as handle:
            handle.write(re.sub(r'"expires": "[^"]*"', f'"expires": "{args["expires"]}"', held))
    return ["REFRESHED"]


def unlock(args: dict):
    if os.path.exists(args["started_marker"]):
        os.remove(args["started_marker"])
    with guard(args):
        held = read(lock_path(args))
        if held is not None and args["run_id"] in held:
            os.remove(lock_path(args))


def finish(args: dict) -> list[str]:
    append_history(args["state_dir"], args["history"])
    unlock(args)
    return ["FINISHED"]


def fail(args: dict) -> list[str]:
    if os.path.exists(args["restored_marker"]):
        os.remove(args["restored_marker"])
        record_state(args["state_dir"], args["system"], args.get("state"))
        append_history(args["state_dir"], args["restored"])
        answer = "RESTORED"
    else:
        append_history(args["state_dir"], args["failed"])
        answer = "FAILED"
    unlock(args)
    return [answer]


def history(args: dict) -> list[str]:
    append_history(args["state_dir"], args["history"])
    return ["RECORDED"]


COMMANDS = {"begin": begin, "takeover": takeover, "refresh": refresh, "finish": finish, "fail": fail,
            "history": history}


def main(command: str, document: str) -> int:
    args = json.loads(document)
    if args.get("version") != PROTOCOL:
        print(f"VERSION\n{PROTOCOL}")
        return 3
    os.umask(0o022)
    lines = COMMANDS[command](args)
    print("\n".join(lines))
    return 1 if lines[:1] == ["NOT HELD"] else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
