"""``rollbook drift --shards N``: N processes at once (``rollbook drift --shard I/N --json``), one report.

Each shard is a process of its own (its own pyinfra run, on its own hosts); their JSON reports merge
into one ``Report`` and their exit codes into one: the worst, an error (1) before drift (2) before
converged (0) — an error means some host's state is unknown, which drift on another host does not
outweigh (an unsharded check that finds drift and an unreachable host exits 1 as well)::

    report = run_shards("inventories/prod.py", 4)       # 4 processes, then merged(...)
    report.code                                         # as the unsharded check's
    merged([(Shard(0, 2), first), (Shard(1, 2), second)]).code
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import replace

from . import drift
from .drift import CONVERGED, DRIFT, ERROR, Drifted, Failed, Report
from .shards import Shard

SEVERITY = (ERROR, DRIFT, CONVERGED)  # the merged exit code: the first of these any shard exited with


def worst(codes: list[int]) -> int:
    """The merged exit code of the shards' ``codes`` (an unknown code counts as an error).

        >>> worst([0, 2, 0]), worst([2, 1]), worst([0, 0])
        (2, 1, 0)
    """
    return next((code for code in SEVERITY if code in codes), CONVERGED) if set(codes) <= set(SEVERITY) else ERROR


def report_from_json(text: str) -> Report:
    """The ``Report`` that ``drift.as_json`` wrote (what a shard's process prints with ``--json``)."""
    document = json.loads(text)
    hosts = document.get("hosts", [])
    checked = [(item["host"], item["system"]) for item in document["checked"]]
    return Report(document["code"], error=document["error"], note=document.get("note", ""),
                  drift=[Drifted(**item) for item in document["drift"]], checked=checked,
                  unrecorded=[(item["host"], item["system"]) for item in document["no_recorded_state"]],
                  failed=[Failed(item["host"], item["system"], item["result"], item["reason"])
                          for item in hosts if item["result"] in drift._UNKNOWN],
                  states={(item["host"], item["system"]): item["recorded"] for item in hosts
                          if (item["host"], item["system"]) in checked})


def merged(reports: list[tuple[Shard, Report]]) -> Report:
    """One report of the shards' reports: every host and system of each, the worst code, every error
    (failed hosts in one line as an unsharded check says it, other errors naming their shards)."""
    every = [report for _, report in reports]
    failed = [item for report in every for item in report.failed]
    said: dict[str, list[str]] = {}
    for shard, report in reports:
        if report.code == ERROR and not report.failed:
            said.setdefault(report.error, []).append(shard.label)
    errors = ([drift._failure_line(failed)] if failed else []) + \
        [f"shard {', '.join(labels)}: {error}" for error, labels in said.items()]
    checked = [key for report in every for key in report.checked]
    return Report(worst([report.code for report in every]), error="; ".join(errors),
                  drift=sorted((item for report in every for item in report.drift), key=lambda d: (d.host, d.system)),
                  checked=sorted(checked), failed=failed,
                  unrecorded=sorted(key for report in every for key in report.unrecorded),
                  states={key: value for report in every for key, value in report.states.items()},
                  note="" if checked or failed else "; ".join(report.note for report in every if report.note))


def shard_command(inventory: str, shard: Shard, system: str | None, limit: str | None, correct: bool) -> list[str]:
    """The command line of one shard's process (``python -m rollbook drift ... --shard I/N --json``)."""
    return [sys.executable, "-m", "rollbook", "drift", inventory, "--shard", shard.label, "--json",
            *(["--system", system] if system else []), *(["--limit", limit] if limit else []),
            *(["--correct"] if correct else [])]


def _read(code: int, stdout: str, stderr: str) -> Report:
    """A shard's report from its process: its JSON, or an error saying what the process said last."""
    try:
        report = report_from_json(stdout)
    except (ValueError, KeyError, TypeError):
        last = (stderr.strip().splitlines() or ["no report"])[-1]
        return Report(ERROR, error=f"exited {code}: {last}")
    if report.code != code:
        return replace(report, code=ERROR, failed=[], error=f"exited {code} but reported {report.code}")
    return report


def run_shards(inventory: str, count: int, system: str | None = None, limit: str | None = None,
               correct: bool = False) -> Report:
    """``count`` shard processes at once, then their merged report (outputs go to files, never a full pipe)."""
    shards = [Shard(index, count) for index in range(count)]
    running = []
    for shard in shards:
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        process = subprocess.Popen(shard_command(inventory, shard, system, limit, correct), cwd=drift.REPO,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        running.append((shard, process, out, err))
    reports = []
    for shard, process, out, err in running:
        code = process.wait()
        with out, err:
            out.seek(0), err.seek(0)
            reports.append((shard, _read(code, out.read(), err.read())))
    return merged(reports)
