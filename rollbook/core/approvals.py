"""Production approvals: a JSON document for one exact run's plan (its digest), signed with the approver's
SSH key (``ssh-keygen -Y sign``), verified at preflight against the repo's allowed-signers file::

    doc = document(plan, approver="alice@example.com", reason="INC-42", hours=2)
    path = write_signed(doc, Path(".approvals/inc-42.json"), key=Path("~/.ssh/id_ed25519").expanduser())
    verify(path, Path("approvals/allowed_signers"), environment="prod", deploy="deploys/vision_rollback.py",
           data={"vision_waves": "b"}, host="vision-worker-01", operator=identity.of_key(bob_key, signers))
"""

import json
import re
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .identity import Operator
from .runs import TIME_FORMAT, utc_time

NAMESPACE = "rollbook-approval"
MAX_BYTES = 64 * 1024
DEFAULT_MAX_HOURS = 4.0


def bound(value) -> str:
    """A ``--data`` value as an approval binds it (text as given; numbers, booleans, JSON as JSON)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class ApprovalError(Exception):
    """An approval that does not allow this run; the message names why."""


def canonical(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def document(plan: dict, approver: str, reason: str, hours: float, now: datetime | None = None,
             max_hours: float = DEFAULT_MAX_HOURS) -> dict:
    """The approval of a ``--dry`` run's ``plan`` (with its digest), valid for ``hours``."""
    if not 0 < hours <= max_hours:
        raise ApprovalError(f"--hours {hours:g}: an approval is valid for more than 0 and at most {max_hours:g} hours")
    now = now or datetime.now(timezone.utc)
    return {
        "version": 2, "id": uuid.uuid4().hex, "environment": plan["environment"], "deploy": plan["deploy"],
        "hosts": sorted(plan["hosts"]), "data": dict(sorted(plan["data"].items())), "digest": plan["digest"],
        "code": plan.get("code"), "plan": plan["plan"], "approver": approver, "reason": reason, "created_at": now.strftime(TIME_FORMAT),
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


def _signature(message: bytes, signature: Path, allowed_signers: Path, approver: str) -> str:
    """The fingerprint of the allowed key that signed ``message`` as ``approver`` ('' when none did)."""
    done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I", approver,
                           "-n", NAMESPACE, "-s", str(signature)], input=message, capture_output=True)
    match = re.search(r"key (SHA256:\S+)", done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace"))
    return match[1] if match and done.returncode == 0 else ""


def _parse(content: bytes, path: Path) -> dict:
    try:
        doc = json.loads(content)
    except ValueError:
        raise ApprovalError(f"approval {path} is not an approval document (not JSON)") from None
    fields = ("approver", "environment", "deploy", "data", "hosts", "digest", "expires_at", "id")
    if not isinstance(doc, dict) or any(field not in doc for field in fields):
        raise ApprovalError(f"approval {path} is not an approval document (it needs {', '.join(fields)})")
    texts = ("approver", "environment", "deploy", "digest", "expires_at", "id")
    if not isinstance(doc["data"], dict) or not isinstance(doc["hosts"], list) or \
            not all(isinstance(doc[field], str) for field in texts):
        raise ApprovalError(f"approval {path} is not an approval document (a field has the wrong type)")
    try:
        doc["_expires"] = utc_time(doc["expires_at"])
    except ValueError:
        raise ApprovalError(f"approval {path}: expires_at {doc['expires_at']!r} is not a UTC time") from None
    return doc


def verify(path, allowed_signers, *, environment: str, deploy: str, data: dict, host: str, operator: Operator,
           max_hours: float = DEFAULT_MAX_HOURS, now: datetime | None = None) -> dict:
    """The approval at ``path`` when it allows this run on ``host``: signed by an allowed key that is not
    ``operator``'s, for this environment, deploy, host and data, unexpired; ApprovalError naming why not."""
    path, allowed_signers = Path(path), Path(allowed_signers)
    signature = Path(f"{path}.sig")
    for needed, missing in ((path, f"no approval file at {path}"),
                            (signature, f"approval {path} is not signed ({path}.sig missing)"),
                            (allowed_signers, f"allowed signers file {allowed_signers} not found")):
        if not needed.is_file():
            raise ApprovalError(missing)
    with open(path, "rb") as handle:  # read once: the bytes verified are the bytes parsed
        content = handle.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise ApprovalError(f"approval {path} is larger than {MAX_BYTES} bytes: not an approval document")
    doc = _parse(content, path)
    approver = doc["approver"]
    signer = _signature(content, signature, allowed_signers, approver)
    if not signer:
        raise ApprovalError(f"approval {path}: the signature does not verify for {approver} "
                            "(tampered, or not signed by an allowed signer)")
    now = now or datetime.now(timezone.utc)
    if now >= doc["_expires"]:
        raise ApprovalError(f"approval {path} expired at {doc['expires_at']}")
    created = doc.get("created_at")
    try:
        lasts = doc["_expires"] - utc_time(str(created))
    except ValueError:
        raise ApprovalError(f"approval {path}: created_at {created!r} is not a UTC time") from None
    if lasts > timedelta(hours=max_hours):
        raise ApprovalError(f"approval {path} is valid for {lasts}, longer than the allowed {max_hours:g} hours")
    for field, wanted in (("environment", environment), ("deploy", deploy)):
        if doc.get(field) != wanted:
            raise ApprovalError(f"approval {path} is for {field} {doc.get(field)!r}, this run is {wanted!r}")
    wanted = {key: bound(value) for key, value in data.items()}
    if doc["data"] != wanted:
        differing = sorted(set(wanted) | set(doc["data"]))
        said = ", ".join(f"{key}={doc['data'].get(key)!r} (run: {wanted.get(key)!r})"
                         for key in differing if doc["data"].get(key) != wanted.get(key))
        raise ApprovalError(f"approval {path} is for other data: {said}")
    if host not in doc.get("hosts", []):
        raise ApprovalError(f"approval {path} does not cover host {host}")
    if signer in operator.fingerprints or approver in operator.principals:
        raise ApprovalError(f"approval {path}: {approver} cannot approve their own run "
                            f"(the operator's key {operator.name} signed it)")
    del doc["_expires"]
    return doc
