"""The ``rollbook`` command line (also ``python -m rollbook``).

Every failure ends with one line on stderr naming the cause. Exit codes: 0 success (drift:
converged), 1 error, 2 drift found (drift only), 64 usage error; ``--help`` lists the commands::

    python -m rollbook sandbox up [--host NAME=ROLE ...] [--reset]
    python -m rollbook drift INVENTORY [--system S] [--correct]      # exit 0 converged, 2 drift, 1 error
    python -m rollbook drift INVENTORY --shard 1/4                     # the hosts with sha256(name) mod 4 == 1
    python -m rollbook drift INVENTORY --shards 4                      # 4 shard processes at once, merged
    python -m rollbook history INVENTORY [--json]
    python -m rollbook serve --config console.toml                    # the web console, 127.0.0.1:8480
"""

import argparse
import json
import sys
from pathlib import Path

from .. import __version__
from ..core.paths import checkout
from ..sandbox import SandboxError
from .demo import main as demo_main
from .shards import parse_count, parse_shard

DATA_REFERENCE = checkout() / "docs" / "data.md"
USAGE = 64


def _failed(error) -> int:
    print(f"rollbook: {error}", file=sys.stderr)
    return 1


def _host_pair(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("=")
    if not sep or not name or not role:
        raise argparse.ArgumentTypeError(f"expected NAME=ROLE, got {text!r}")
    return name, role


def _sandbox(args) -> int:
    from ..sandbox import hosts

    if args.action == "up":
        state = hosts.up(dict(args.host) if args.host else None, reset=args.reset)
        print("\n".join(hosts.status()))
        print(f"{len(state.hosts)} host(s) up; inventory: inventories/sandbox.py")
    elif args.action == "down":
        hosts.down()
    elif args.action == "enroll":
        if not args.environment or not args.names:
            raise SandboxError("usage: sandbox enroll --as sandbox|staging|prod NAME ...")
        hosts.enroll(args.names, args.environment)
    else:
        print("\n".join(hosts.status()))
    return 0


def _drift_report(args):
    """The check (or correction) the arguments ask for: one process, one shard of it, or N shards at once."""
    from . import drift
    from .shard_runs import run_shards

    if args.shards:
        drift._limit(args.system)  # an unknown system: said once, not by every shard
        return run_shards(args.inventory, args.shards, args.system, args.limit, args.correct)
    return (drift.correct if args.correct else drift.check)(args.inventory, args.system, args.limit, args.shard)


def _drift(args) -> int:
    from . import drift
    from ..core import notify

    webhook = notify.drift_webhook(args.notify)  # else ROLLBOOK_NOTIFY_WEBHOOK (the timer's), out of the environment
    try:
        report = _drift_report(args)
    except ValueError as error:
        return _failed(error)
    if args.json:
        print(drift.as_json(report))
    else:
        print(drift.render(report), file=sys.stderr if report.code == drift.ERROR else sys.stdout)
    if args.json_out:
        drift.write_atomically(args.json_out, drift.as_json(report) + "\n")
    if args.textfile:
        shard = args.shard.label if args.shard else ""  # every series of a shard's textfile is labelled shard="I/N"
        drift.write_textfile(args.textfile, report, shard=shard)  # a failed check keeps the last known drift values
    for notice in report.notices:  # the correction run's; sent here when it could not send it itself
        print(notice["line"], file=sys.stderr)
        if webhook and notice["text"] and notice["result"] != "sent":
            print(f"rollbook: notification of the correction {notify.post(webhook, notice['text'])}", file=sys.stderr)
    if webhook and report.code == drift.ERROR:  # drift found is Prometheus's alert (docs/alerts.yml), not a message
        print(f"rollbook: notification {notify.drift_failed(webhook, args.inventory, report)}", file=sys.stderr)
    return report.code


def _unread(answers: dict[str, tuple[bool, str]], what: str) -> int:
    """0, or 1 naming the hosts whose ``what`` could not be read (``remote.run_everywhere``'s answers)."""
    unread = [name for name, (ok, _) in answers.items() if not ok]
    return _failed(f"could not read the {what} of {', '.join(unread)}") if unread else 0


def _history(args) -> int:
    from ..core import history
    from .remote import read_everywhere

    answers = read_everywhere(args.inventory, f"{args.state_dir}/history.jsonl")
    rows = history.runs_of([record for name, (ok, text) in answers.items() if ok
                            for record in history.parse(text, name)])
    if args.system:
        rows = [row for row in rows if row.get("system") == args.system]
    print(json.dumps(rows, indent=2) if args.json else history.table(rows))
    return _unread(answers, "history")


def _locks(args) -> int:
    from .remote import locks_everywhere

    rows, answers = [], locks_everywhere(args.inventory, args.state_dir)
    for name, (ok, text) in answers.items():
        for line in text.splitlines() if ok else ():
            system, _, held = line.partition(" ")
            try:
                lock = json.loads(held)
            except ValueError:
                lock = {"unreadable": held[:200]}
            rows.append({"host": name, "system": system, **(lock if isinstance(lock, dict) else {})})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['host']:<16} {row['system']:<12} {row.get('operator', '?')} since {row.get('since', '?')} "
                  f"(run {row.get('run_id', '?')}, pid {row.get('pid', '?')} on {row.get('controller', '?')}, "
                  f"expires {row.get('expires', '?')})")
        print(f"{len(rows)} lock(s) held")
    return _unread(answers, "locks")


def _incident(args) -> int:
    from .incident import report

    try:
        print(report(args.inventory, args.host, args.run_id, args.state_dir))
    except LookupError as error:
        return _failed(error)
    return 0


def _approve(args) -> int:
    from .approve import REFUSED, approve, escaped

    try:
        path, plan = approve(args)  # shows the plan on stderr, asks, then signs
    except REFUSED as error:
        return _failed(escaped(str(error)))
    print(f"plan digest: {escaped(plan['digest'])}")
    print(f"approval of this plan for {len(plan['hosts'])} host(s) written to {path} (signature {path}.sig)")
    data = " ".join(f"--data {key}={value}" for key, value in plan["data"].items())
    print(escaped(f"the operator runs: pyinfra INVENTORY {plan['deploy']} {data} --data approval={path}"
                  .replace("  ", " ")))
    return 0


def _trust_host(args) -> int:
    from .hostkeys import HostKeyError, trust

    try:
        print(trust(args.inventory, args.host, args.fingerprint))
    except (HostKeyError, FileNotFoundError) as error:
        return _failed(error)
    return 0


def _schema(args) -> int:
    from ..core import schema

    if args.json:
        print(json.dumps(schema.json_schema(), indent=2, sort_keys=True))
    elif args.write:
        DATA_REFERENCE.write_text(schema.reference())
        print(f"wrote {DATA_REFERENCE.relative_to(DATA_REFERENCE.parents[1])}")
    else:
        print(schema.reference(), end="")
    return 0


def _serve(args) -> int:
    from ..console.serve import ServeError, serve, wait_until_answering

    try:
        return (wait_until_answering if args.wait else serve)(Path(args.config), args.port)
    except ServeError as error:
        return _failed(error)


def _checked(parse):
    """An argparse ``type=`` from a parser raising ``ValueError``: its message becomes the usage error (64)."""
    def checked(text: str):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return checked


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE), never 2 (which means drift)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(USAGE)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="rollbook", description=__doc__.splitlines()[0],
                  formatter_class=argparse.RawDescriptionHelpFormatter,
                  epilog="exit codes: 0 success (drift: converged), 1 error, 2 drift found, 64 usage error")
    top.add_argument("--version", action="version", version=f"rollbook {__version__}")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sandbox = commands.add_parser("sandbox", help="local container hosts for demos and tests")
    sandbox.add_argument("action", choices=("up", "down", "status", "enroll"))
    sandbox.add_argument("names", nargs="*", metavar="NAME", help="enroll: the hosts to enroll")
    sandbox.add_argument("--as", dest="environment", help="enroll: the environment (sandbox, staging, prod)")
    sandbox.add_argument("--host", action="append", type=_host_pair, metavar="NAME=ROLE",
                         help="hosts to bring up (default: one host per role)")
    sandbox.add_argument("--reset", action="store_true", help="recreate the hosts from their images")
    sandbox.set_defaults(run=_sandbox)
    demo = commands.add_parser("demo", help="a real vision rollback on the sandbox (make demo)")
    demo.set_defaults(run=lambda args: demo_main())

    drift = commands.add_parser("drift", help="exit 0 when every host holds its recorded state, 2 on drift, 1 on error")
    drift.add_argument("inventory")
    drift.add_argument("--system", help="only this system (default: all)")
    drift.add_argument("--limit", help="only this host or group (pyinfra's --limit)")
    drift.add_argument("--correct", action="store_true", help="converge drifting hosts back (a drift correction)")
    sharded = drift.add_mutually_exclusive_group()
    sharded.add_argument("--shard", type=_checked(parse_shard), metavar="I/N",
                         help="only shard I of N (0 <= I < N): the hosts whose sha256(name) mod N == I; an empty "
                         "shard exits 0 and says so")
    sharded.add_argument("--shards", type=_checked(parse_count), metavar="N",
                         help="N shards at once, one process each; their reports merge and the exit code is the "
                         "worst: 1 error, then 2 drift, then 0")
    drift.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    drift.add_argument("--json-out", metavar="FILE", help="also write the JSON report to FILE")
    drift.add_argument("--textfile", metavar="FILE",
                       help="also write rollbook_drift{system,host}, rollbook_drift_check_success and the last run and "
                       "success timestamps for node_exporter (docs/alerts.yml); with --shard, each labelled shard=\"I/N\"")
    drift.add_argument("--notify", metavar="URL", help="notify this Apprise URL (or an http(s) webhook, in "
                       "Slack's shape) when the check fails, and of a --correct run's outcome when that run could not send "
                       "it itself (default: $ROLLBOOK_NOTIFY_WEBHOOK; drift found is Prometheus's alert)")
    drift.set_defaults(run=_drift)

    hist = commands.add_parser("history", help="the Rollback History table across the inventory's hosts")
    hist.add_argument("inventory")
    hist.add_argument("--json", action="store_true", help="one JSON object per run and host")
    hist.add_argument("--system", help="only this system's runs")
    hist.add_argument("--state-dir", default="/var/lib/rollbook")
    hist.set_defaults(run=_history)

    held = commands.add_parser("locks", help="the locks the inventory's hosts hold now: who, which system, since when")
    held.add_argument("inventory")
    held.add_argument("--json", action="store_true")
    held.add_argument("--state-dir", default="/var/lib/rollbook")
    held.set_defaults(run=_locks)

    incident = commands.add_parser("incident", help="the incident report (Markdown) of one run on one host")
    incident.add_argument("--inventory", default="inventories/prod.py")
    incident.add_argument("--host", required=True)
    incident.add_argument("--run", dest="run_id", required=True, help="the run id (see `history`)")
    incident.add_argument("--state-dir", default="/var/lib/rollbook")
    incident.set_defaults(run=_incident)

    approve = commands.add_parser("approve", help="sign the plan of one exact production run (shown, then asked)")
    approve.add_argument("inventory", nargs="?", help="the run's inventory (without --plan: a --dry run makes the plan)")
    approve.add_argument("deploy", nargs="?", help="e.g. deploys/vision_rollback.py")
    approve.add_argument("--plan", help="the plan file a --dry run wrote (.plans/<digest>.json)")
    approve.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help="the run's --data")
    approve.add_argument("--limit", help="a host or group, as pyinfra's --limit")
    approve.add_argument("--approver", required=True, help="your principal in approvals/allowed_signers")
    approve.add_argument("--key", required=True, help="your SSH private key (ssh-keygen -Y sign)")
    approve.add_argument("--reason", required=True)
    approve.add_argument("--hours", type=float, default=2.0,
                         help="valid for this long (default 2; at most rollbook_approval_max_hours, default 4)")
    approve.add_argument("--out", help="where to write it (default .approvals/<stamp>-<system>.json)")
    approve.add_argument("--yes", action="store_true",
                         help="sign without asking (scripts; the plan is still shown first, on stderr)")
    approve.set_defaults(run=_approve)

    trusted = commands.add_parser("trust-host", help="record a new host's key once it matches the fingerprint "
                                  "you were given (before deploys/bootstrap.py)")
    trusted.add_argument("inventory")
    trusted.add_argument("host")
    trusted.add_argument("--fingerprint", required=True, help="SHA256:... of the host's key, from its console")
    trusted.set_defaults(run=_trust_host)

    reference = commands.add_parser("schema", help="the data reference: every key, its type, default and doc")
    shown = reference.add_mutually_exclusive_group()
    shown.add_argument("--write", action="store_true", help="write docs/data.md")
    shown.add_argument("--json", action="store_true", help="print the JSON schema of every model (forms read it)")
    reference.set_defaults(run=_schema)

    serve = commands.add_parser("serve", help="the web console and its API (uvicorn, on 127.0.0.1)")
    serve.add_argument("--config", required=True, help="the console's settings file (TOML)")
    serve.add_argument("--port", type=int, help="instead of the file's port (default 8480)")
    serve.add_argument("--wait", action="store_true", help="do not serve: exit 0 once the console answers")
    serve.set_defaults(run=_serve)
    return top


def _parse(argv):
    """The command line; ``sandbox enroll`` takes its host names before or after ``--as`` (argparse
    gives positionals that follow an option back as extras)."""
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra and getattr(args, "action", None) == "enroll" and not any(item.startswith("-") for item in extra):
        args.names = [*args.names, *extra]
    elif extra:
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    try:
        return args.run(args)
    except SandboxError as error:
        return _failed(error)
    except Exception as error:  # the docker SDK's own errors: imported only by the sandbox commands
        if not type(error).__module__.startswith("docker."):
            raise
        return _failed(f"docker engine: {' '.join(str(error).split())}")


def console() -> int:
    """The ``rollbook`` console script and ``python -m rollbook``: the commands that use pyinfra's API
    (which runs on gevent) get gevent's patches before anything imports ssl."""
    if sys.argv[1:2] and sys.argv[1] in ("history", "locks", "incident", "approve", "drift", "trust-host"):  # the one reader of argv
        from gevent import monkey

        monkey.patch_all()
    return main()
