"""Production approvals: a JSON document for one exact run, signed with the approver's SSH key.

The approver signs with ``ssh-keygen -Y sign``; a run's preflight checks it with
``ssh-keygen -Y verify`` against the allowed-signers file kept in the repo, then checks
that it is for this environment, deploy, scope and host, unexpired, and not
self-approved. Example::

    doc = document("prod", "deploys/vision_rollback.py", {"vision_waves": "b"}, ["vision-worker-01"],
                   approver="alice@example.com", reason="INC-42", hours=2)
    path = write_signed(doc, Path("approvals/inc-42.json"), key=Path("~/.ssh/id_ed25519").expanduser())
    verify(path, Path("approvals/allowed_signers"), environment="prod", deploy="deploys/vision_rollback.py",
           scope={"vision_waves": "b"}, host="vision-worker-01", operator="bob")
"""

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

NAMESPACE = "rollbook-approval"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ApprovalError(Exception):
    """An approval that does not allow this run; the message names why."""


def canonical(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def document(environment: str, deploy: str, scope: dict, hosts: list[str], approver: str, reason: str,
             hours: float, now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    return {
        "version": 1, "environment": environment, "deploy": deploy,
        "scope": {key: str(value) for key, value in sorted(scope.items())}, "hosts": sorted(hosts),
        "approver": approver, "reason": reason, "created_at": now.strftime(TIME_FORMAT),
        "expires_at": (now + timedelta(hours=hours)).strftime(TIME_FORMAT),
    }


def write_signed(doc: dict, path: Path, key: Path) -> Path:
    """Write ``doc`` to ``path`` and sign it with private ``key`` (``<path>.sig``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical(doc))
    Path(f"{path}.sig").unlink(missing_ok=True)
    done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise ApprovalError(f"signing {path} with {key} failed: {done.stderr.strip() or done.returncode}")
    return path


def _signature_holds(path: Path, allowed_signers: Path, approver: str) -> bool:
    with open(path, "rb") as message:
        done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I", approver,
                               "-n", NAMESPACE, "-s", f"{path}.sig"], stdin=message, capture_output=True)
    return done.returncode == 0


def verify(path, allowed_signers, *, environment: str, deploy: str, scope: dict, host: str, operator: str,
           now: datetime | None = None) -> dict:
    """The approval at ``path`` when it allows this run on ``host``; ApprovalError naming why not."""
    path, allowed_signers = Path(path), Path(allowed_signers)
    if not path.is_file():
        raise ApprovalError(f"no approval file at {path}")
    if not Path(f"{path}.sig").is_file():
        raise ApprovalError(f"approval {path} is not signed ({path}.sig missing)")
    if not allowed_signers.is_file():
        raise ApprovalError(f"allowed signers file {allowed_signers} not found")
    try:
        doc = json.loads(path.read_text())
        approver = str(doc["approver"])
    except (ValueError, KeyError):
        raise ApprovalError(f"approval {path} is not an approval document") from None
    if not _signature_holds(path, allowed_signers, approver):
        raise ApprovalError(f"approval {path}: the signature does not verify for {approver} "
                            "(tampered, or not signed by an allowed signer)")
    now = now or datetime.now(timezone.utc)
    expires = datetime.strptime(doc["expires_at"], TIME_FORMAT).replace(tzinfo=timezone.utc)
    if now >= expires:
        raise ApprovalError(f"approval {path} expired at {doc['expires_at']}")
    for field, wanted in (("environment", environment), ("deploy", deploy)):
        if doc.get(field) != wanted:
            raise ApprovalError(f"approval {path} is for {field} {doc.get(field)!r}, this run is {wanted!r}")
    wanted_scope = {key: str(value) for key, value in scope.items()}
    if doc.get("scope") != wanted_scope:
        differing = sorted(set(wanted_scope) | set(doc.get("scope", {})))
        said = ", ".join(f"{key}={doc.get('scope', {}).get(key)!r} (run: {wanted_scope.get(key)!r})"
                         for key in differing if doc.get("scope", {}).get(key) != wanted_scope.get(key))
        raise ApprovalError(f"approval {path} is for another scope: {said}")
    if host not in doc.get("hosts", []):
        raise ApprovalError(f"approval {path} does not cover host {host}")
    if approver == operator:
        raise ApprovalError(f"approval {path}: {approver} cannot approve their own run")
    return doc
