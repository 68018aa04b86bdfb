"""Value types shared by the systems' settings models. A name, ref or key that reaches a command on a host
is a full-match pattern (``\\A...\\Z``: a trailing newline does not pass); the text types take a whole
number as its text and refuse any other number (``--data`` made it one; ``rollbook.core.schema.Text``)::

    >>> items("a, b,,c")
    ['a', 'b', 'c']
"""

import re
from dataclasses import fields
from functools import partial
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, StringConstraints

from ..core.schema import Text, key, strict_flag


def _pattern(pattern: str):
    return Annotated[Text, StringConstraints(pattern=pattern)]


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
# A URL path on a service's own address (/health): never "..", no query.
HealthPath = _pattern(r"\A/(?!.*\.\.)[A-Za-z0-9_./-]{0,200}\Z")
# A Prometheus series: a metric name, with or without exact label matches (vision_media_total{reason="x"}).
MetricSelector = _pattern(r'\A[A-Za-z_:][A-Za-z0-9_:]*(\{[A-Za-z_][A-Za-z0-9_]*="[^"\\{}\n]*"'
                          r'(,[A-Za-z_][A-Za-z0-9_]*="[^"\\{}\n]*")*\})?\Z')
# The start of metric names (vision_low_priority_ for vision_low_priority_*).
MetricPrefix = _pattern(r"\A[A-Za-z_:][A-Za-z0-9_:]*\Z")
# A Redis key, stream or consumer group name: no glob, no space, never an option (-...).
RedisName = _pattern(r"\A[A-Za-z0-9_:.][A-Za-z0-9_:.-]{0,199}\Z")
# A field of a service's JSON answer (best_day_hour_combinations).
FieldName = _pattern(r"\A[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
# A git branch, tag or commit: never an option (-...), never "..".
GitRef = _pattern(r"\A(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_./-]{0,199}\Z")
# A path relative to the app's folder: never absolute, never "..", never an option (-...).
RELATIVE_PATH = r"\A(?![/-])(?!.*\.\.)[A-Za-z0-9_./-]+\Z"
RelativePath = _pattern(RELATIVE_PATH)
path_key = partial(key, allowed="a path")  # a key holding a path (SafePath); origin= as key()'s


def relative_key(default: str, what: str, folder: str, *, origin: str):
    """A key holding a path relative to ``folder`` (RelativePath); ``origin`` as ``key``'s::

        phase17_main_file: RelativePath = relative_key("app/main.py", "The server's main.py", "the server folder",
                                                       origin="runbook 002")
    """
    return key(default, f"{what}, relative to {folder}", origin=origin, allowed="a relative path")
# Free text that never reaches a shell (S3 bucket, region, prefix): ``rollbook.core.schema.Text``.

State = Literal["enabled", "rolled_back"]


def items(value) -> list[str]:
    """The stripped, non-empty items of comma-separated text or a list (as ``preflight.scope`` reads them);
    a control character (a trailing newline, a tab) is refused, never stripped away."""
    parts = value.split(",") if isinstance(value, str) else list(value or [])
    if any(ch < " " or ch == "\x7f" for part in parts for ch in str(part)):
        raise ValueError("holds a control character (a newline?)")
    return [str(part).strip() for part in parts if str(part).strip()]


def flag_value(value, kind: type, where: str = "") -> str:
    """A flag's value as an env file spells it: ``true``/``false`` (a boolean as data spells it),
    digits (a whole number above 0), or plain text; ValueError naming ``where`` otherwise::

        >>> flag_value("yes", bool), flag_value(512, int), flag_value("vision:phash", str)
        ('true', '512', 'vision:phash')
    """
    if kind is bool:
        try:
            return "true" if strict_flag(value) else "false"
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not a boolean (true/false, yes/no, on/off, 1/0)") from None
    text = str(value)
    if kind is int and (isinstance(value, bool) or not re.fullmatch(r"[0-9]+", text) or int(text) <= 0):
        raise ValueError(f"{where}: {value!r} is not a positive whole number")
    if not re.fullmatch(r"[A-Za-z0-9_.:/@,+-]+", text):
        raise ValueError(f"{where}: {value!r} holds characters a managed value may not (letters, digits, _.:/@,+-)")
    return text


def blank_to_none(value, *also):
    """``""`` and ``False`` (and ``also``) mean no value, as the systems' code reads an optional key."""
    return None if value in ("", False, *also) else value


def declared_states(kind, doc: str, allowed: str = ""):
    """A ``<system>_declared_state`` key: each unit of ``kind`` (a Literal) -> its state on a host with no
    recorded state yet, each enabled unless the table says otherwise (rollbook's own mechanics: its origin
    is ``rollbook``)::

        phase17_declared_state: dict[Unit, State] = declared_states(Unit, "The state of each unit ...")
    """
    units = get_args(kind)
    info = key(dict.fromkeys(units, "enabled"), doc, origin="rollbook",
               allowed=allowed or f"unit ({', '.join(units)}) -> enabled or rolled_back")
    info.metadata.append(AfterValidator(lambda declared: {unit: declared.get(unit, "enabled") for unit in units}))
    return info


def places_of(kind, settings, prefix: str, **given):
    """A system's places (a dataclass) from its validated settings: each field the key ``<prefix><field>``,
    unless ``given``::

        places_of(Phase17Places, settings, "phase17_", service=settings.phase17_systemd_unit, ...)
    """
    return kind(**{item.name: getattr(settings, prefix + item.name) for item in fields(kind) if item.name not in given},
                **given)


# Folders an app directory may never be (nor lie in, for the system folders): a path key set to
# /etc/sudoers must not pass as "inside the app".
_SYSTEM_ROOTS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run", "/sbin",
                 "/sys", "/usr", "/var/lib/rollbook")
_NOT_APP_DIRS = ("/", "/home", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/mnt", "/media")


def _plain_absolute(path: str, key: str) -> str:
    if not path.startswith("/") or any(part in (".", "..") for part in path.split("/")) or "//" in path:
        raise ValueError(f"{key}: {path!r} is not a plain absolute path (no '.', '..' or '//')")
    return path.rstrip("/") or "/"


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def confined(model, folders: dict[str, str], files: dict[str, str | tuple[str, ...]]):
    """Check a system's path keys (``model``: its validated settings): each key of ``folders`` is an
    app folder (absolute, plain, not a system folder); each key of ``files`` lies inside the app
    folder(s) it names (a key of ``folders``, or an absolute folder the schema allows). Symlinks are
    the host's business: the commands that write a file refuse one leading out (``rollbook.host``)::

        >>> confined(type("M", (), {"app": "/opt/vision", "env": "/etc/sudoers"})(), {"app": "app"}, {"env": "app"})
        Traceback (most recent call last):
        ValueError: env: '/etc/sudoers' is not inside app (/opt/vision)
    """
    where = {}
    for setting, name in folders.items():
        folder = _plain_absolute(getattr(model, setting), setting)
        if folder in _NOT_APP_DIRS or any(_within(folder, root) for root in _SYSTEM_ROOTS):
            raise ValueError(f"{setting}: {folder!r} is a system folder, not an app's folder")
        where[name] = folder
    for setting, allowed in files.items():
        value = getattr(model, setting)
        if value is None:
            continue
        path = _plain_absolute(value, setting)
        names = (allowed,) if isinstance(allowed, str) else allowed
        if not any(_within(path, where.get(name, name)) for name in names):
            said = " or ".join(f"{name} ({where[name]})" if name in where else name for name in names)
            raise ValueError(f"{setting}: {path!r} is not inside {said}")
    return model
