"""``python -m rollbook approve``: sign an approval for one exact production run.

The scope is computed from the inventory's data exactly as the run will compute it,
so an approval made for ``--data vision_waves=b`` allows only that run::

    python -m rollbook approve inventories/prod.py deploys/vision_rollback.py --data vision_waves=b \\
        --approver alice@example.com --key ~/.ssh/id_ed25519 --reason "INC-42: OCR errors"
"""

import importlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from pyinfra_cli.util import parse_cli_arg

from . import approvals, schema
from .preflight import PreflightError
from .remote import REPO, load_inventory
from .systems import SYSTEMS

DEPLOY_NAME = re.compile(r"^deploys/(?P<system>[a-z0-9_]+)_(rollback|enable)\.py$")


def _system_of(deploy: str):
    match = DEPLOY_NAME.match(deploy)
    if not match or match["system"] not in SYSTEMS:
        raise ValueError(f"{deploy} is not a system's rollback or enable deploy (deploys/<system>_rollback.py)")
    return SYSTEMS[match["system"]]


def _override_data(pairs: list[str]) -> dict:
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--data {pair!r}: expected KEY=VALUE")
        data[key] = parse_cli_arg(value)
    return data


def approve(args) -> tuple[Path, list[str]]:
    system = _system_of(args.deploy)
    override = _override_data(args.data)
    try:
        schema.refuse_override(override)  # the run will refuse them too: no approval for what cannot run
        inventory = load_inventory(args.inventory, override)
    except FileNotFoundError as error:
        raise ValueError(str(error)) from None
    except PreflightError as error:
        raise ValueError(str(error)) from None
    hosts = [host for host in inventory if system.group in host.groups
             and (not args.limit or args.limit == host.name or args.limit in host.groups)]
    if not hosts:
        raise ValueError(f"no host of group {system.group} in {args.inventory}" +
                         (f" matching --limit {args.limit}" if args.limit else ""))
    module = importlib.import_module(system.module)
    try:
        scopes = {json.dumps(module.scope_of(host.data), sort_keys=True) for host in hosts}
    except PreflightError as error:
        raise ValueError(str(error)) from None
    environments = {str(host.data.get("rollbook_environment")) for host in hosts}
    if len(scopes) != 1 or len(environments) != 1:
        raise ValueError("the hosts differ in environment or scope: approve them separately with --limit")
    max_hours = min(float(host.data.get("rollbook_approval_max_hours") or approvals.DEFAULT_MAX_HOURS)
                    for host in hosts)
    try:
        doc = approvals.document(environments.pop(), args.deploy, json.loads(scopes.pop()), [h.name for h in hosts],
                                 approver=args.approver, reason=args.reason, hours=args.hours, max_hours=max_hours)
    except approvals.ApprovalError as error:
        raise ValueError(str(error)) from None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(args.out) if args.out else REPO / ".approvals" / f"{stamp}-{system.name}.json"
    try:
        approvals.write_signed(doc, path, Path(args.key).expanduser())
    except approvals.ApprovalError as error:
        raise ValueError(str(error)) from None
    return path, [h.name for h in hosts]
