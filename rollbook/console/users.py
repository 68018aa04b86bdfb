"""Who may use the console: a users file of bcrypt hashes, and four roles, each holding the rights of the
ones before it::

    # /etc/rollbook/console-users (mode 0600 or 0640): name role bcrypt-hash
    alice operator $2b$12$...
    >>> can(User("alice", "approver"), "plan"), can(User("bob", "viewer"), "plan")
    (True, False)
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import bcrypt

ROLES = ("viewer", "operator", "approver", "admin")
RIGHTS = {"read": "viewer", "plan": "operator", "run": "operator", "approve": "approver", "admin": "admin"}
# checked for a name the file does not hold, so that an unknown name takes as long as a wrong password
_NOBODY = bcrypt.hashpw(b"nobody", bcrypt.gensalt(rounds=12))


class UsersFileError(ValueError):
    """The users file cannot be used: the message names the line, never a hash."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


def can(user: User, right: str) -> bool:
    """Whether ``user``'s role holds ``right`` (read, plan, run, approve, admin)."""
    return ROLES.index(user.role) >= ROLES.index(RIGHTS[right])


def hashed(password: str) -> str:
    """The line's third field for ``password``."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


class Users:
    """The users of one users file, read once."""

    def __init__(self, entries: dict[str, tuple[str, bytes]]):
        self._entries = entries  # name -> (role, hash)

    @classmethod
    def load(cls, path: Path) -> "Users":
        """The file's users; a file others may write, a bad line or a name given twice is refused."""
        mode = os.stat(path).st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_IROTH):
            raise UsersFileError(f"{path}: mode {stat.S_IMODE(mode):04o}: others may read or anyone but its "
                                 "owner may write it (0600 or 0640)")
        entries = {}
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != 3 or fields[1] not in ROLES or not fields[2].startswith("$2"):
                raise UsersFileError(f"{path}:{number}: want 'name role bcrypt-hash' with a role of "
                                     f"{', '.join(ROLES)}")
            if fields[0] in entries:
                raise UsersFileError(f"{path}:{number}: {fields[0]} is given twice")
            entries[fields[0]] = (fields[1], fields[2].encode())
        return cls(entries)

    def named(self, name: str) -> User | None:
        """The user ``name`` as the file gives them (for an identity a trusted proxy asserts)."""
        role = self._entries.get(name, ("", b""))[0]
        return User(name, role) if role else None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user ``name`` if ``password`` is theirs, else None (an unknown name costs the same time)."""
        role, hash_ = self._entries.get(name, ("", _NOBODY))
        matches = bcrypt.checkpw(password.encode(), hash_)
        return User(name, role) if matches and role else None
