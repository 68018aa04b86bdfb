"""Approvals signed and verified with the real ssh-keygen: every way one can be wrong is refused."""

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from rollbook.core import approvals, identity

DATA = {"vision_waves": "b", "reason": "INC-1"}
PLAN = {"environment": "prod", "deploy": "deploys/vision_rollback.py", "hosts": ["w1", "w2"], "data": DATA,
        "plan": {"w1": {"vision": {"units": {"b": "rolled_back"}, "steps": [], "changes": []}}},
        "digest": "sha256:" + "ab" * 32}
BOB = identity.Operator("bob@example.com", frozenset({"bob@example.com"}), frozenset({"SHA256:bob"}))


@pytest.fixture
def signer(tmp_path):
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"alice@example.com {key.with_suffix('.pub').read_text()}")
    return key, allowed


def signed(tmp_path, key, **changes):
    doc = approvals.document(PLAN, approver="alice@example.com", reason="INC-1", hours=1)
    doc.update(changes)
    return approvals.write_signed(doc, tmp_path / "approval.json", key)


def check(path, allowed, **overrides):
    wanted = dict(environment="prod", deploy="deploys/vision_rollback.py", data=DATA, host="w1", operator=BOB)
    wanted.update(overrides)
    return approvals.verify(path, allowed, **wanted)


def test_a_valid_approval_allows_exactly_its_run(tmp_path, signer):
    key, allowed = signer
    assert check(signed(tmp_path, key), allowed)["approver"] == "alice@example.com"


@pytest.mark.parametrize("overrides, cause", [
    ({"data": {**DATA, "vision_waves": "a,b"}}, "is for other data: vision_waves='b' (run: 'a,b')"),
    ({"data": {**DATA, "vision_rolled_back_values": '{"b": {}}'}}, "is for other data: vision_rolled_back_values"),
    ({"data": {"vision_waves": "b"}}, "is for other data: reason='INC-1' (run: None)"),
    ({"host": "w9"}, "does not cover host w9"),
    ({"environment": "staging"}, "is for environment 'prod', this run is 'staging'"),
    ({"deploy": "deploys/vision_enable.py"}, "is for deploy"),
    ({"operator": identity.Operator("alice", frozenset({"alice@example.com"}), frozenset({"SHA256:x"}))},
     "cannot approve their own run"),
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
    doc["data"]["vision_waves"] = "a,b,c"
    path.write_text(approvals.canonical(doc))
    with pytest.raises(approvals.ApprovalError, match="signature does not verify"):
        check(path, allowed, data=doc["data"])

    path = signed(tmp_path, key)
    allowed.write_text("# nobody\n")
    with pytest.raises(approvals.ApprovalError, match="signature does not verify"):
        check(path, allowed)

    (tmp_path / "approval.json.sig").unlink()
    with pytest.raises(approvals.ApprovalError, match="is not signed"):
        check(path, allowed)
    with pytest.raises(approvals.ApprovalError, match="no approval file"):
        check(tmp_path / "missing.json", allowed)


def test_self_approval_is_judged_on_the_signing_key_not_a_name(tmp_path, signer):
    key, allowed = signer
    me = identity.of_key(str(key), None)  # alice's key, no principal known: the fingerprint decides
    assert me.known and not me.principals
    with pytest.raises(approvals.ApprovalError, match="cannot approve their own run"):
        check(signed(tmp_path, key), allowed, operator=me)
    assert identity.of_key(str(key), allowed).principals == {"alice@example.com"}


@pytest.mark.parametrize("hours", [0, -1, 4.01, 1e12, float("nan"), float("inf")])
def test_an_expiry_out_of_bounds_is_refused(hours):
    with pytest.raises(approvals.ApprovalError, match="at most 4 hours"):
        approvals.document(PLAN, approver="a", reason="r", hours=hours)


def test_an_approval_lasting_longer_than_the_data_allows_is_refused(tmp_path, signer):
    key, allowed = signer
    path = signed(tmp_path, key)
    with pytest.raises(approvals.ApprovalError, match="longer than the allowed 0.5 hours"):
        check(path, allowed, max_hours=0.5)


@pytest.mark.parametrize("content", [b"[]", b"null", b"{}", b'{"approver": 1}', b"not json", b"x" * 70000])
def test_a_file_that_is_no_approval_is_one_line_not_a_traceback(tmp_path, signer, content):
    key, allowed = signer
    path = tmp_path / "approval.json"
    path.write_bytes(content)
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", approvals.NAMESPACE, str(path)], check=True)
    with pytest.raises(approvals.ApprovalError, match="not an approval document|larger than"):
        check(path, allowed)


def test_what_is_verified_is_what_is_parsed(tmp_path, signer, monkeypatch):
    """Swapping the file after the signature check cannot smuggle in another scope: it is read once."""
    key, allowed = signer
    path = signed(tmp_path, key)
    forged = json.loads(path.read_text())
    forged["data"]["vision_waves"] = "a,b,c,tokens"
    real_run = subprocess.run

    def swap_then_verify(*args, **kwargs):
        done = real_run(*args, **kwargs)
        path.write_text(approvals.canonical(forged))  # the attacker swaps the file right after the check
        return done

    monkeypatch.setattr(approvals.subprocess, "run", swap_then_verify)
    with pytest.raises(approvals.ApprovalError, match="is for other data"):
        check(path, allowed, data=forged["data"])
