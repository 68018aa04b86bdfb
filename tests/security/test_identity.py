"""The operator's identity comes from the key itself, never from a ``<key>.pub`` beside it (issue #22):
a decoy ``.pub`` can neither make an operator look like the approver nor hide a self-approval."""

import subprocess

import pytest

from rollbook.core import approvals, identity, runs

PLAN = {"environment": "prod", "deploy": "deploys/vision_rollback.py", "hosts": ["w1"], "data": {"vision_waves": "b"},
        "plan": {"w1": {"vision": {"units": {"b": "rolled_back"}, "steps": [], "changes": []}}},
        "digest": "sha256:" + "ab" * 32}


@pytest.fixture(autouse=True)
def fresh_identities(monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent key may stand in for the key under test
    runs.SESSION.computed.clear()
    yield
    runs.SESSION.computed.clear()


def keygen(tmp_path, name: str, passphrase: str = "") -> tuple[str, str, str]:
    """(private key path, its real public key, its fingerprint)."""
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(key)], check=True)
    public = (tmp_path / f"{name}.pub").read_text().strip()
    listed = subprocess.run(["ssh-keygen", "-l", "-f", f"{key}.pub"], capture_output=True, text=True, check=True)
    return str(key), public, listed.stdout.split()[1]


@pytest.fixture
def keys(tmp_path):
    """alice approves, bob operates, eve is a third key; all three are allowed signers."""
    made = {name: keygen(tmp_path, name) for name in ("alice", "bob", "eve")}
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("".join(f"{name}@example.com {public}\n" for name, (_, public, _) in made.items()))
    return made, allowed


def decoy(key: str, public: str):
    """Put another key's public half where ``<key>.pub`` would be."""
    with open(f"{key}.pub", "w") as handle:
        handle.write(public + "\n")


def approval(tmp_path, key: str):
    doc = approvals.document(PLAN, approver="alice@example.com", reason="INC-22", hours=1)
    return approvals.write_signed(doc, tmp_path / "approval.json", key)


def verify(path, allowed, operator):
    return approvals.verify(path, allowed, environment="prod", deploy=PLAN["deploy"], data=PLAN["data"], host="w1",
                            operator=operator)


def test_a_decoy_pub_naming_the_approvers_key_does_not_make_the_operator_the_approver(tmp_path, keys):
    made, allowed = keys
    bob_key, _, bob_fingerprint = made["bob"]
    decoy(bob_key, made["alice"][1])
    me = identity.of_data({"ssh_key": bob_key}, allowed)
    assert me.fingerprints == {bob_fingerprint} and me.principals == {"bob@example.com"}
    assert me.name == "bob@example.com"
    assert verify(approval(tmp_path, made["alice"][0]), allowed, me)["approver"] == "alice@example.com"


def test_the_approver_running_their_own_approval_behind_a_decoy_pub_is_a_self_approval(tmp_path, keys):
    made, allowed = keys
    alice_key, _, alice_fingerprint = made["alice"]
    path = approval(tmp_path, alice_key)  # signed with her own key (ssh-keygen -Y sign checks her .pub)...
    decoy(alice_key, made["eve"][1])  # ...then a decoy .pub names eve
    me = identity.of_key(alice_key, allowed)
    assert me.fingerprints == {alice_fingerprint} and me.principals == {"alice@example.com"}
    with pytest.raises(approvals.ApprovalError, match="cannot approve their own run"):
        verify(path, allowed, me)


def test_a_decoy_pub_of_a_key_in_no_allowed_signers_line_changes_nothing(tmp_path, keys):
    made, allowed = keys
    bob_key, _, bob_fingerprint = made["bob"]
    decoy(bob_key, keygen(tmp_path, "stranger")[1])
    assert identity.of_key(bob_key, allowed).fingerprints == {bob_fingerprint}


def test_a_key_with_no_pub_beside_it_is_still_known(tmp_path, keys):
    made, allowed = keys
    bob_key, _, bob_fingerprint = made["bob"]
    (tmp_path / "bob.pub").unlink()
    assert identity.of_key(bob_key, allowed).fingerprints == {bob_fingerprint}


def test_an_encrypted_key_is_unknown_even_with_a_pub_beside_it(tmp_path, keys):
    _, allowed = keys
    key, _, _ = keygen(tmp_path, "locked", passphrase="secret phrase")
    me = identity.of_key(key, allowed)
    assert not me.known and me.name.endswith("(no SSH key)")


@pytest.mark.parametrize("given", ["missing", "alice.pub", "allowed_signers"])
def test_a_path_that_is_no_private_key_is_unknown(tmp_path, keys, given):
    _, allowed = keys
    assert not identity.of_key(str(tmp_path / given), allowed).known


def test_no_key_and_no_agent_is_unknown(keys):
    _, allowed = keys
    assert not identity.of_data({}, allowed).known
