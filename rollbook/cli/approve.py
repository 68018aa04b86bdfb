"""``rollbook approve``: sign the plan of one exact production run.

The plan comes from a ``--dry`` run: the file it printed (``--plan``), or one ``approve`` makes with
the run's inventory, deploy and ``--data``. ``approve`` shows the plan on stderr (``escaped``), asks,
and signs its digest only on ``y``/``yes`` (``--yes``: no question); the real run goes on only when
its plan has the same digest::

    rollbook approve inventories/prod.py deploys/vision_rollback.py --data vision_waves=b \\
        --approver alice@example.com --key ~/.ssh/id_ed25519 --reason "INC-42: OCR errors"
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from ..core import approvals, schema
from ..core.paths import checkout
from ..pipeline import PLAN_FILE
from ..pipeline.plan import digest_of, render
from ..core.preflight import PreflightError

REFUSED = (ValueError, approvals.ApprovalError, PreflightError)  # why nothing was signed: one line each
# C0, DEL, C1; bidi embeddings, overrides, isolates and marks; line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escaped(text: str) -> str:
    r"""``text`` with every control character shown escaped: a terminal shows exactly what is signed::

        escaped("FLAG: true\x1b[2K\rFLAG: false")   # 'FLAG: true\\x1b[2K\\rFLAG: false'
        escaped("file\u202etxt.exe")                 # 'file\\u202etxt.exe'
    """
    def one(match) -> str:
        char = match[0]
        return _SHORT.get(char) or (f"\\x{ord(char):02x}" if ord(char) <= 0xff else f"\\u{ord(char):04x}")

    return _CONTROL.sub(one, text)


def _override_data(pairs: list[str]) -> dict:
    from pyinfra_cli.util import parse_cli_arg  # importing pyinfra's CLI patches the process with gevent

    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--data {pair!r}: expected KEY=VALUE")
        data[key] = parse_cli_arg(value)
    return data


def _planned(args) -> dict:
    """The plan document of the run ``args`` names, from a ``--dry`` run."""
    if not args.inventory or not args.deploy:
        raise ValueError("give --plan FILE, or the run's INVENTORY DEPLOY (and its --data)")
    schema.refuse_override(_override_data(args.data))  # no approval for what cannot run
    return dry_plan(args.inventory, args.deploy, args.data, [args.limit] if args.limit else [])


def pyinfra_argv(inventory: str, deploy: str, data: list[str], limits: list[str], dry: bool) -> list[str]:
    """The pyinfra command of one run: ``data`` as ``KEY=VALUE`` pairs, each limit a host or group name."""
    cmd = [str(Path(sys.executable).with_name("pyinfra")), "--dry" if dry else "-y"]
    cmd += [arg for limit in limits for arg in ("--limit", limit)]
    cmd += [arg for pair in data for arg in ("--data", pair)]
    return cmd + [inventory, deploy]


def dry_plan(inventory: str, deploy: str, data: list[str], limits: list[str]) -> dict:
    """The plan document a ``--dry`` run of ``deploy`` writes; ValueError with the run's error line."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "plan.json"
        done = subprocess.run(pyinfra_argv(inventory, deploy, data, limits, dry=True), cwd=checkout(),
                              capture_output=True, text=True, env={**os.environ, PLAN_FILE: str(target)})
        if done.returncode != 0 or not target.is_file():
            errors = [line for line in done.stderr.splitlines() if "error" in line.lower()] or \
                     done.stderr.strip().splitlines()[-1:] or ["no plan"]
            raise ValueError(f"the --dry run failed: {errors[-1].strip()}")
        return json.loads(target.read_text())


def _read_plan(path: str) -> dict:
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--plan {path}: not a plan ({error})") from None
    if not isinstance(document, dict) or not {"environment", "deploy", "hosts", "data", "plan", "digest"} <= set(document):
        raise ValueError(f"--plan {path}: not a plan document")
    if digest_of(document) != document["digest"]:
        raise ValueError(f"--plan {path}: its digest does not match its content (edited?)")
    return document


def _confirmed(plan: dict) -> bool:
    """Ask the approver, on the terminal, whether to sign ``plan`` (one line from stdin; EOF is no)."""
    print(f"Sign this plan (digest {escaped(plan['digest'])})? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline() if sys.stdin and not sys.stdin.closed else ""
    if not answer.endswith("\n"):
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def approve(args) -> tuple[Path, dict]:
    """Show the plan ``args`` names (stderr), ask (unless ``args.yes``), then sign it; one of ``REFUSED``
    naming why nothing was signed."""
    plan = _read_plan(args.plan) if args.plan else _planned(args)
    if plan["environment"] != "prod":
        raise ValueError(f"the plan is for {escaped(str(plan['environment']))}, which is self-service: "
                         "nothing to approve")
    document = partial(approvals.document, plan, approver=args.approver, reason=args.reason, hours=args.hours,
                       max_hours=float(plan.get("max_hours") or approvals.DEFAULT_MAX_HOURS))
    document()  # a bad --hours is refused before the approver reads the plan
    for line in shown(plan):
        print(line, file=sys.stderr)
    if not getattr(args, "yes", False) and not _confirmed(plan):
        raise ValueError("not signed: the approver did not answer yes; no approval written")
    doc = document()  # valid from now, not from before the approver read the plan
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(args.out) if args.out else checkout() / ".approvals" / f"{stamp}-{doc['id'][:8]}.json"
    approvals.write_signed(doc, path, Path(args.key).expanduser())
    return path, plan


def shown(plan: dict) -> list[str]:
    """What the approver signs, as they read it (control characters escaped)."""
    return [escaped(line) for line in render(plan) + [f"plan digest: {plan['digest']}"]]
