"""Preflight: check the requested scope and data before any host is touched.

Every refusal is a ``PreflightError``: pyinfra prints it as one line naming the
cause and exits non-zero, before any operation runs. Example::

    >>> scope("a,b", ("a", "b", "c", "tokens"), "vision_waves")
    ['a', 'b']
    >>> boolean("yes", "vision_purge_s3_cache")
    True
"""

import re

from pyinfra.api.exceptions import PyinfraError

TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


class PreflightError(PyinfraError):
    """Bad input or a refused run, raised before any change."""


def require(data, key: str):
    """``data[key]``; a PreflightError naming the key when it is missing."""
    value = data.get(key)
    if value is None:
        raise PreflightError(f"missing data key {key} (every key is documented in group_data/all.py)")
    return value


def scope(value, allowed: tuple[str, ...], key: str) -> list[str]:
    """The subset of ``allowed`` named by ``value`` (comma-separated text or a list), in ``allowed``'s order."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    if not names:
        raise PreflightError(f"{key} is empty (allowed: {', '.join(allowed)})")
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise PreflightError(f"{key}: unknown {', '.join(map(repr, unknown))} (allowed: {', '.join(allowed)})")
    return [name for name in allowed if name in names]


def choice(value, allowed: tuple[str, ...], key: str) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise PreflightError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return text


def boolean(value, key: str) -> bool:
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise PreflightError(f"{key}: {value!r} is not a boolean (true or false)")


def positive_int(value, key: str) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip()) or int(value) <= 0:
        raise PreflightError(f"{key}: {value!r} is not a positive whole number")
    return int(value)


def flag_value(value, kind: type, key: str) -> str:
    """A flag's value as its env file spells it: ``true``/``false``, digits, or plain text."""
    if kind is bool:
        return "true" if boolean(value, key) else "false"
    if kind is int:
        return str(positive_int(value, key))
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_.:/@,+-]+", text):
        raise PreflightError(f"{key}: {value!r} holds characters a managed value may not (letters, digits, _.:/@,+-)")
    return text
