"""console.users: the users file and the roles."""

import pytest

from rollbook.console.users import ROLES, User, Users, UsersFileError, can, hashed


def users_file(tmp_path, text, mode=0o600):
    path = tmp_path / "console-users"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_each_role_holds_the_rights_of_the_ones_before_it():
    table = {role: [right for right in ("read", "plan", "run", "approve", "admin") if can(User("x", role), right)]
             for role in ROLES}
    assert table == {"viewer": ["read"], "operator": ["read", "plan", "run"],
                     "approver": ["read", "plan", "run", "approve"],
                     "admin": ["read", "plan", "run", "approve", "admin"]}


def test_a_user_signs_in_with_their_password_only(tmp_path):
    users = Users.load(users_file(tmp_path, f"# who\nalice operator {hashed('s3cret')}\n\nbob viewer {hashed('b')}\n"))
    assert users.authenticate("alice", "s3cret") == User("alice", "operator")
    assert users.authenticate("alice", "b") is None
    assert users.authenticate("carol", "s3cret") is None
    assert users.authenticate("bob", "b") == User("bob", "viewer")


@pytest.mark.parametrize("text, says", [
    ("alice operator\n", ":1: want 'name role bcrypt-hash'"),
    ("alice root $2b$12$abc\n", ":1: want 'name role bcrypt-hash' with a role of viewer, operator"),
    ("alice viewer plaintext\n", ":1: want"),
    ("alice viewer $2b$12$abc\nalice admin $2b$12$abc\n", ":2: alice is given twice"),
])
def test_a_bad_line_is_named_without_its_hash(tmp_path, text, says):
    with pytest.raises(UsersFileError, match=says.replace("$", r"\$")) as raised:
        Users.load(users_file(tmp_path, text))
    assert "$2b$" not in str(raised.value)


@pytest.mark.parametrize("mode", [0o644, 0o660, 0o606])
def test_a_file_others_may_read_or_write_is_refused(tmp_path, mode):
    with pytest.raises(UsersFileError, match="0600 or 0640"):
        Users.load(users_file(tmp_path, f"alice operator {hashed('x')}\n", mode))
