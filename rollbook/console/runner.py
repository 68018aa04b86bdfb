"""Runs in progress: pyinfra as a subprocess with an argv the console builds itself, its output kept in a
file, each host's progress read from it::

    runner = Runner(store, Path("/var/lib/rollbook-console/runs"))
    run = runner.start(plan, "olga", "inventories/sandbox.py", ["vision_waves=tokens"])
    runner.cancel(run["id"])           # pyinfra stopped as by Ctrl-C, the run recorded as cancelled
"""

import json
import os
import re
import signal
import subprocess
import threading
from collections import deque
from pathlib import Path

from ..cli.approve import pyinfra_argv
from ..core.paths import checkout
from ..core.run_notice import NOTICE_FILE
from .jobs import job_of
from .store import Store

HOST_LINE = re.compile(r"^\s*\[(?P<host>[^\]\s]+)\]\s+(?P<said>.*)$")
# a host's or preflight's refusal: "...: refused: why", "...: refused (why)", a lock held, a takeover lost
# (each the message of the pipeline's record.begun, which also records the refusal in the host's history)
REFUSAL = re.compile(r": refused\b| is locked by |: the stale lock (was taken over|changed)")
CONSOLE_RUN = "ROLLBOOK_CONSOLE_RUN"  # the run's id, in its hosts' history records (``core.runs.CONSOLE_RUN``)
MAX_RUNNING = 2  # pyinfra runs at once; the others wait, queued
STOP_GRACE = 30  # seconds pyinfra gets to stop after Ctrl-C before it is terminated


def host_status(line: str, hosts: list[str]) -> tuple[str, str] | None:
    """(host, status) a pyinfra output line says, for a host of the run::

        host_status("    [vision-1] Error: command failed", ["vision-1"])    # ('vision-1', 'failed')
    """
    match = HOST_LINE.match(line)
    if not match or match["host"] not in hosts:
        return None
    said = match["said"].lower()
    return match["host"], "failed" if said.startswith("error") or REFUSAL.search(said) else "running"


def outcome(returncode: int, output_tail: str, cancelled: bool) -> str:
    """The run's final status from how pyinfra ended."""
    if cancelled:
        return "cancelled"
    if returncode == 0:
        return "succeeded"
    return "refused" if REFUSAL.search(output_tail) else "failed"


def unproven_hosts(notices: Path) -> set[str]:
    """The hosts whose run ended unproven (nothing showed its effect), from the run's notices file::

        unproven_hosts(Path("runs/7.notices.json"))    # {'vision-1'}
    """
    try:
        said = json.loads(notices.read_text())
    except (OSError, ValueError):
        return set()
    return {entry["host"] for notice in said for entry in notice.get("reasons", []) if "unproven" in entry["reasons"]}


class Runner:
    def __init__(self, store: Store, folder: Path):
        self.store, self.folder = store, Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for run in store.runs(outcome="running") + store.runs(outcome="queued"):
            if run["source"] == "console":  # the console stopped under it (systemd stops pyinfra with it)
                store.update(run["id"], "failed", {host: "failed" for host in run["hosts"]})
        self._slots = threading.Semaphore(MAX_RUNNING)
        self._processes: dict[str, subprocess.Popen] = {}
        self._cancelled: set[str] = set()

    def start(self, plan: dict, requester: str, inventory: str, data: list[str]) -> dict:
        run = self.store.add_run(plan, requester)
        output = self.folder / f"{run['id']}.log"
        output.touch(mode=0o600)
        self.store.set_output(run["id"], str(output))
        argv = pyinfra_argv(inventory, job_of(plan["system"], plan["action"]).deploy, data, plan["hosts"], dry=False)
        threading.Thread(target=self._run, args=(run["id"], argv, output, plan["hosts"]), daemon=True).start()
        return self.store.run(run["id"])

    def _run(self, run_id: str, argv: list[str], output: Path, hosts: list[str]):
        with self._slots:
            if run_id in self._cancelled:
                self.store.update(run_id, "cancelled", {host: "cancelled" for host in hosts})
                return
            statuses = {host: "running" for host in hosts}
            self.store.update(run_id, "running", statuses)
            notices = output.with_suffix(".notices.json")  # the run's end notices (run_notice), with each host's reasons
            with open(output, "ab", buffering=0) as sink:
                process = subprocess.Popen(argv, cwd=checkout(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True,
                                           env={**os.environ, CONSOLE_RUN: run_id, NOTICE_FILE: str(notices)})
                self._processes[run_id] = process
                tail = deque(maxlen=200)
                for raw in process.stdout:
                    sink.write(raw)
                    line = raw.decode(errors="replace")
                    tail.append(line)
                    said = host_status(line, hosts)
                    if said and statuses[said[0]] != "failed" and said[1] != statuses[said[0]]:
                        statuses[said[0]] = said[1]
                        self.store.update(run_id, "running", statuses)
                returncode = process.wait()
                self._processes.pop(run_id, None)
            final = outcome(returncode, "".join(tail), run_id in self._cancelled)
            done = {host: (status if status == "failed" else final) for host, status in statuses.items()}
            if final == "succeeded" and (unproven := unproven_hosts(notices) & set(done)):
                final = "unproven"
                done.update({host: "unproven" for host in unproven})
            self.store.update(run_id, final, done)

    def cancel(self, run_id: str):
        """Stop the run as Ctrl-C would (SIGINT to pyinfra's process group; terminated when it has not
        stopped after ``STOP_GRACE`` seconds); a queued run never starts."""
        self._cancelled.add(run_id)
        process = self._processes.get(run_id)
        if process is None:
            run = self.store.run(run_id)
            if run and run["status"] == "queued":
                self.store.update(run_id, "cancelled", {host: "cancelled" for host in run["hosts"]})
            return
        try:
            os.killpg(process.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        threading.Thread(target=self._terminate_late, args=(process,), daemon=True).start()

    @staticmethod
    def _terminate_late(process: subprocess.Popen):
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
