"""Value types shared by the systems' settings models (``rollbook/systems/<system>/settings.py``).

A name, ref or key that reaches a command on a host is a full-match pattern (``\\A...\\Z``: a
trailing newline does not pass); ``Settings`` validates them with Python's regex engine. pyinfra's
``--data`` turns ``2`` into an int: the text types take numbers as their text, as the systems'
code (``str(value)``) does::

    >>> items("a, b,,c")
    ['a', 'b', 'c']
"""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints


def _pattern(pattern: str):
    return Annotated[str, Field(coerce_numbers_to_str=True), StringConstraints(pattern=pattern)]


# A systemd unit or compose service name: never an option (-...).
UnitName = _pattern(r"\A[A-Za-z0-9_.@][A-Za-z0-9_.@-]*\Z")
# An env-file key, or the name of an operator's secret (an environment variable).
EnvKey = _pattern(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
# A key rollbook writes into an env file (upper case, as rollbook.host.envfile manages them).
MANAGED_KEY = r"\A[A-Z_][A-Z0-9_]*\Z"
ManagedKey = _pattern(MANAGED_KEY)
# An image repository: [registry host[:port]/]name[/name...], no tag.
ImageName = _pattern(r"\A[a-z0-9][a-z0-9._-]*(?::[0-9]{1,5}(?=/))?(?:/[a-z0-9][a-z0-9._-]*)*\Z")
ImageTag = _pattern(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
# A git branch, tag or commit: never an option (-...), never "..".
GitRef = _pattern(r"\A(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_./-]{0,199}\Z")
# A path relative to the app's folder: never absolute, never "..", never an option (-...).
RELATIVE_PATH = r"\A(?![/-])(?!.*\.\.)[A-Za-z0-9_./-]+\Z"
RelativePath = _pattern(RELATIVE_PATH)
# Free text that never reaches a shell (S3 bucket, region, prefix).
Text = Annotated[str, Field(coerce_numbers_to_str=True)]

State = Literal["enabled", "rolled_back"]


def items(value) -> list[str]:
    """The stripped, non-empty items of comma-separated text or a list (as ``preflight.scope`` reads them);
    a control character (a trailing newline, a tab) is refused, never stripped away."""
    parts = value.split(",") if isinstance(value, str) else list(value or [])
    if any(ch < " " or ch == "\x7f" for part in parts for ch in str(part)):
        raise ValueError("holds a control character (a newline?)")
    return [str(part).strip() for part in parts if str(part).strip()]


def blank_to_none(value, *also):
    """``""`` and ``False`` (and ``also``) mean no value, as the systems' code reads an optional key."""
    return None if value in ("", False, *also) else value
