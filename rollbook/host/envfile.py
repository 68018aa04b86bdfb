"""Env files (``KEY=value`` lines): the plan to converge some keys, said without secrets, and the
operation ``keys`` that applies it.

Only the managed keys are read from a host and only they are rewritten, in place,
by a ``sed`` on the host: every other line (other settings, secrets) stays byte for
byte, and no secret value ever reaches the controller's output. Example::

    >>> plan = plan_changes({"A": "true", "B": "1"}, {"A": "false", "B": "1"})
    >>> describe(plan)
    ['A: true -> false']
    >>> edit_command("/opt/app/.env", plan)   # doctest: +ELLIPSIS
    "f=/opt/app/.env; grep -q '^A=' ..."
"""

import re
import shlex
from dataclasses import dataclass

from pyinfra.api import operation

from ..report import announce
from .shell import backup

KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
VALUE_PATTERN = re.compile(r"^[A-Za-z0-9_.:/@,+-]*$")  # what a managed value may hold (safe in sed)
SECRET_WORDS = {"SECRET", "PASSWORD", "PASSWD", "PASS", "TOKEN", "KEY", "CREDENTIALS", "DSN", "PRIVATE", "AUTH"}
MASK = "********"


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None  # None: the key is not in the file
    new: str


def is_secret(key: str) -> bool:
    """Whether a key's value must never be shown (judged by the words of its name)."""
    return bool(SECRET_WORDS & set(key.upper().split("_"))) or key.upper().endswith("_URL")


def shown(key: str, value: str | None) -> str:
    if value is None:
        return "(unset)"
    return MASK if is_secret(key) else value


def check_managed(values: dict[str, str]):
    """Raise ValueError naming the first key or value that cannot be managed safely."""
    for key, value in values.items():
        if not KEY_PATTERN.match(key):
            raise ValueError(f"invalid env key {key!r}")
        if not isinstance(value, str) or not VALUE_PATTERN.match(value):
            raise ValueError(f"invalid value for {key}: only letters, digits and _.:/@,+- are allowed")


def parse(text: str, keys) -> dict[str, str]:
    """The values of ``keys`` in env-file ``text`` (the last assignment wins)."""
    wanted, found = set(keys), {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in wanted:
            found[key] = value
    return found


def plan_changes(current: dict[str, str], target: dict[str, str]) -> list[Change]:
    """The keys whose value differs from ``target``, in ``target``'s order."""
    return [Change(key, current.get(key), value) for key, value in target.items() if current.get(key) != value]


def describe(plan: list[Change]) -> list[str]:
    """``KEY: old -> new`` for each change, secret values masked."""
    return [f"{change.key}: {shown(change.key, change.old)} -> {shown(change.key, change.new)}" for change in plan]


def edit_command(path: str, plan: list[Change]) -> str:
    """One shell command rewriting exactly the planned keys of ``path`` (appending missing ones)."""
    parts = [f"f={shlex.quote(path)}"]
    for change in plan:
        line = f"{change.key}={change.new}"
        parts.append(
            f"if grep -q '^{change.key}=' \"$f\"; then sed -i --follow-symlinks 's|^{change.key}=.*|{line}|' \"$f\"; "
            f"else {{ [ -z \"$(tail -c1 \"$f\")\" ] || echo >> \"$f\"; printf '%s\\n' {shlex.quote(line)} >> \"$f\"; }}; fi"
        )
    return "; ".join(parts)


@operation()
def keys(path: str, current: dict[str, str], target: dict[str, str], backup_keep: int = 5):
    """
    Converge ``target``'s keys in env file ``path``; every other line stays byte for byte.

    + path: the env file on the host
    + current: the managed keys as the file holds them now (from a fact)
    + target: the values they must have
    + backup_keep: how many ``<path>.backup.<UTC stamp>`` copies to keep

    The run and ``--dry`` say ``KEY: old -> new`` per changed key; values of secret
    keys are masked. Example:

    .. code:: python

        envfile.keys(
            name="Set the vision flags in /opt/vision/.env",
            path="/opt/vision/.env", current=state.env_file,
            target={"VISION_PHASH_ENABLED": "false"},
        )
    """
    plan = plan_changes(current, target)
    if not plan:
        return
    announce([f"{path}: {line}" for line in describe(plan)])
    yield backup(path, backup_keep)
    yield edit_command(path, plan)
