"""The end of a run, told to the people who must act on it: one message per pyinfra run, sent by the
controller once the run is over, only when a host's outcome needs a human (``NEEDS_A_HUMAN``). It names
the run, then each system's hosts with their outcome and changes (the plan's strings, secret values
already shown as ``***``), and no secret: every secret value the run knows is scrubbed once more::

    text = message([("vision-1", run)], secrets={"s3cr3t"})    # None: nothing needs a human
    text.splitlines()[0]
    # 'rollbook: run 20250101T000000Z-abc123 needs a human: verification failed on vision-1'

An emergency run announced itself before its change (``notify.emergency``): its end is told only when
that announcement did not go out, or when another outcome of the list holds (then the message says the
announcement was sent, without repeating it).
"""

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from . import notify, schema
from .runs import CONSOLE_RUN, HostRun, Session

# Each outcome that needs a human, and when a host's run has it. "unproven": the run could not prove its
# effect (no traffic, no probe: ``rollbook.host.verify``), whether it failed for it (prod) or not.
NEEDS_A_HUMAN: tuple[tuple[str, Callable[[HostRun], bool]], ...] = (
    ("verification failed", lambda run: run.verified is False),
    ("restored", lambda run: run.outcome == "restored"),
    ("refused in prod", lambda run: run.outcome == "refused" and run.environment == "prod"),
    ("unproven", lambda run: run.outcome == "unproven" or (bool(run.unproven) and run.verified is None)),
    ("drift corrected", lambda run: run.kind == "drift_correction" and run.outcome == "converged"),
    ("emergency", lambda run: run.authorization.get("mode") == "emergency"
     and run.authorization.get("notification") != "sent"),
)
NO_WEBHOOK = "not sent (no rollbook_notify_webhook configured): notify by hand"
# where a run also writes its notices ({text, result, line} each), for the process that started it
NOTICE_FILE = "ROLLBOOK_NOTICE_FILE"
MAX_CHANGES = 20  # a host's changes the message lists; more are counted
# how a host's changes read after each outcome
CHANGES_LABEL = {"refused": "planned, not made", "restored": "put back", "failed": "planned",
                 "aborted": "planned"}


def reasons(run: HostRun) -> list[str]:
    """The outcomes of ``NEEDS_A_HUMAN`` that ``run`` has, in the list's order::

        >>> reasons(HostRun("vision", "rollback", "d", "prod", outcome="refused"))
        ['refused in prod']
    """
    return [name for name, holds in NEEDS_A_HUMAN if holds(run)]


def message(host_runs: Iterable[tuple[str, HostRun]], secrets: Iterable[str] = ()) -> str | None:
    """The run's notice for ``host_runs`` (``(host, run)`` pairs of one run), grouped by system; None when
    no run needs a human. Every value of ``secrets`` reads ``***``."""
    host_runs = ordered(host_runs)
    if not (needed := summary(host_runs)):
        return None
    lines = [f"rollbook: run {host_runs[0][1].run_id} needs a human: {needed}",
             "  ".join(f"{label} {', '.join(sorted({getattr(run, field) for _, run in host_runs}))}"
                       for label, field in (("environment", "environment"), ("deploy", "deploy"),
                                            ("operator", "operator")))
             + (f"  console run {CONSOLE_RUN}" if CONSOLE_RUN else "")]
    system = None
    for name, run in host_runs:
        if run.system != system:
            system = run.system
            lines.append(f"{system}:")
        lines += host_lines(name, run)
    return scrubbed("\n".join(lines), secrets)


def summary(host_runs: Iterable[tuple[str, HostRun]]) -> str:
    """What needs a human, host by host ('' when nothing does)::

        >>> summary([("vision-1", HostRun("vision", "rollback", "d", "prod", outcome="restored"))])
        'restored on vision-1'
    """
    return "; ".join(f"{', '.join(said)} on {name}" for name, run in ordered(host_runs) if (said := reasons(run)))


def ordered(host_runs: Iterable[tuple[str, HostRun]]) -> list[tuple[str, HostRun]]:
    """``(host, run)`` pairs by system, then host."""
    return sorted(host_runs, key=lambda pair: (pair[1].system, pair[0]))


def host_lines(name: str, run: HostRun) -> list[str]:
    """One host's outcome (why it needs a human, the failed step, the refusal, the failed checks), then
    its changes::

        >>> host_lines("vision-1", HostRun("vision", "rollback", "d", "sandbox", outcome="converged",
        ...                                changes=["VISION_PHASH_ENABLED: true -> false"]))
        ['- vision-1: converged', '    change: VISION_PHASH_ENABLED: true -> false']
    """
    said = [run.outcome or "not recorded"]
    if why := reasons(run):
        said.append(f"needs a human: {', '.join(why)}")
    if run.failed_step:
        said.append(f"failed at {run.failed_step}")
    if run.outcome == "refused" and run.refusal:
        said.append(f"refused: {run.refusal[:300]}")
    auth = run.authorization
    if auth.get("mode") == "emergency":
        said.append(f"emergency {auth.get('level')} (announced before the change: {auth.get('notification')})")
    lines = [f"- {name}: " + "; ".join(said)]
    lines += [f"    {check}" for check in run.verify if check.startswith(("FAILED", "UNPROVEN"))]
    label = CHANGES_LABEL.get(run.outcome, "change")
    lines += [f"    {label}: {change}" for change in run.changes[:MAX_CHANGES]]
    if len(run.changes) > MAX_CHANGES:
        lines.append(f"    (+{len(run.changes) - MAX_CHANGES} more changes: see the host's history)")
    return lines


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every value of ``secrets`` as ``***`` (the longest first)::

        >>> scrubbed("token abc123 and abc", ["abc", "abc123"])
        'token *** and ***'
    """
    for value in sorted({str(value) for value in secrets if value}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def at_end(session: Session, executed: bool) -> list[str]:
    """At the run's end (``rollbook.pipeline.pyinfra_adapter``), once: each webhook's notice of its hosts,
    and the lines saying whether it went out, printed (and, for ``rollbook drift --correct``, written to
    ``ROLLBOOK_NOTICE_FILE``). Never raises; nothing when the run never executed (``--dry``) or no outcome
    needs a human::

        at_end(SESSION, executed=True)
        # ['rollbook: notice of run 20250101T000000Z-abc123 (verification failed on vision-1): sent']
    """
    if not executed:
        return []
    return session.once(("run notice",), lambda: _told(_sent(session)))


def _told(notices: list[dict]) -> list[str]:
    """Print what happened to each notice; write them for the caller that asked (``NOTICE_FILE``)."""
    for notice in notices:
        print(notice["line"], file=sys.stderr)
    if notices and os.environ.get(NOTICE_FILE):
        try:
            Path(os.environ[NOTICE_FILE]).write_text(json.dumps(notices))
        except OSError as error:
            print(f"rollbook: the run's notice was not written for its caller ({error})", file=sys.stderr)
    return [notice["line"] for notice in notices]


def _sent(session: Session) -> list[dict]:
    """Send each webhook the notice of the hosts whose settings name it: ``{text, result, line}`` each."""
    try:
        by_webhook: dict[str | None, list[tuple[str, HostRun]]] = {}
        for (name, _), run in session.runs.items():
            settings = session.settings.get(name)
            by_webhook.setdefault(settings.get("rollbook_notify_webhook") if settings else None, []).append(
                (name, run))
        notices = []
        for url, host_runs in by_webhook.items():
            if text := message(host_runs, secret_values(session)):
                result = notify.post(url, text) if url else NO_WEBHOOK
                notices.append({"text": text, "result": result, "line": f"rollbook: notice of run "
                                f"{host_runs[0][1].run_id} ({summary(host_runs)}): {result}",
                                "reasons": [{"host": name, "system": run.system, "reasons": reasons(run)}
                                            for name, run in host_runs if reasons(run)]})
        return notices
    except Exception as error:  # a notice never fails the run
        return [{"text": "", "result": "failed", "line": f"rollbook: the run's notice failed "
                 f"({type(error).__name__}): notify by hand"}]


def secret_values(session: Session) -> set[str]:
    """Every secret value this run knows: its hosts' secret settings, and the secrets it read."""
    keys = schema.secret_keys()
    return {str(settings.get(key)) for settings in session.settings.values() for key in keys
            if settings.get(key)} | session.secrets
