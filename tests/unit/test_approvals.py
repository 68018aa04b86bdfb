"""Approvals signed and verified with the real ssh-keygen: every way one can be wrong is refused."""

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from rollbook import approvals

SCOPE = {"vision_waves": "b", "vision_compression_poc": "false"}


@pytest.fixture
def signer(tmp_path):
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"alice@example.com {key.with_suffix('.pub').read_text()}")
    return key, allowed


def signed(tmp_path, key, **changes):
    doc = approvals.document("prod", "deploys/vision_rollback.py", SCOPE, ["w1", "w2"],
                             approver="alice@example.com", reason="INC-1", hours=1)
    doc.update(changes)
    return approvals.write_signed(doc, tmp_path / "approval.json", key)


def check(path, allowed, **overrides):
    wanted = dict(environment="prod", deploy="deploys/vision_rollback.py", scope=SCOPE, host="w1", operator="bob")
    wanted.update(overrides)
    return approvals.verify(path, allowed, **wanted)


def test_a_valid_approval_allows_exactly_its_run(tmp_path, signer):
    key, allowed = signer
    assert check(signed(tmp_path, key), allowed)["approver"] == "alice@example.com"


@pytest.mark.parametrize("overrides, cause", [
    ({"scope": {**SCOPE, "vision_waves": "a,b"}}, "is for another scope: vision_waves='b' (run: 'a,b')"),
    ({"host": "w9"}, "does not cover host w9"),
    ({"environment": "staging"}, "is for environment 'prod', this run is 'staging'"),
    ({"deploy": "deploys/vision_enable.py"}, "is for deploy"),
    ({"operator": "alice@example.com"}, "cannot approve their own run"),
])
def test_a_run_it_does_not_name_is_refused(tmp_path, signer, overrides, cause):
    key, allowed = signer
    with pytest.raises(approvals.ApprovalError, match=cause.replace("(", r"\(").replace(")", r"\)")):
        check(signed(tmp_path, key), allowed, **overrides)


def test_expired_tampered_unsigned_and_unknown_signer_are_refused(tmp_path, signer):
    key, allowed = signer
    path = signed(tmp_path, key)
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    with pytest.raises(approvals.ApprovalError, match="expired at"):
        check(path, allowed, now=later)

    doc = json.loads(path.read_text())
    doc["scope"]["vision_waves"] = "a,b,c"
    path.write_text(approvals.canonical(doc))
    with pytest.raises(approvals.ApprovalError, match="signature does not verify"):
        check(path, allowed, scope=doc["scope"])

    path = signed(tmp_path, key)
    allowed.write_text("# nobody\n")
    with pytest.raises(approvals.ApprovalError, match="signature does not verify"):
        check(path, allowed)

    (tmp_path / "approval.json.sig").unlink()
    with pytest.raises(approvals.ApprovalError, match="is not signed"):
        check(path, allowed)
    with pytest.raises(approvals.ApprovalError, match="no approval file"):
        check(tmp_path / "missing.json", allowed)
