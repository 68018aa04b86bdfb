"""Env files (``KEY=value`` lines): the plan to converge some keys, said without secrets, and the
operation ``keys`` that applies it. Only the managed keys are read from a host and rewritten, in place;
every other line stays byte for byte.

**Every value is secret unless its key is public** (``public_keys``: the keys the run sets from data,
plus ``rollbook_public_env_keys``); any other shows as ``***``. Values a run must compare without
seeing them reach it as ``KEY=<hidden DIGEST>`` (``hiding``), and ``keys`` copies them on the host::

    >>> plan = plan_changes({"A": "true", "B": "1"}, {"A": "false", "B": "1"})
    >>> describe(plan, public={"A"})
    ['A: true -> false']
    >>> describe(plan)
    ['A: *** -> ***']
    >>> edit_command("/opt/app/.env", plan)   # doctest: +ELLIPSIS
    "f=/opt/app/.env; grep -q '^A=' ..."
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import operation
from pyinfra.api.command import StringCommand

from ..core.preflight import PreflightError
from ..core.report import announce
from . import loaders
from .command import command, joined, program
from .scripts import source
from .sections import key_values
from .shell import backup, inside, q

KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # what a managed key may be
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # any env key (a public one may be lower case)
VALUE_PATTERN = re.compile(r"^[A-Za-z0-9_.:/@,+-]*$")  # what a managed value may hold (safe in sed)
MASK = "***"
PUBLIC_KEYS = "rollbook_public_env_keys"  # the data key listing keys whose values may be shown
SALT_FILE = "/var/lib/rollbook/private/env-digest.salt"  # per host, 0600, never leaves it
HIDDEN = re.compile(r"^<hidden [0-9a-f]{32}>$")

# runs on the host: the loaders' rules (rollbook/host/loaders.py), then rollbook/host/scripts/hide_env.py
_HIDE = f"{Path(loaders.__file__).read_text()}\n{source('hide_env')}\nmain(seen_by)\n"


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None  # None: the key is not in the file
    new: str


def public_keys(data, managed=()) -> frozenset[str]:
    """The keys whose values may be shown in a run: ``managed`` (the keys the run sets from data) and
    the names data lists under ``rollbook_public_env_keys`` (a list, or a comma-separated string).
    PreflightError names a bad entry."""
    listed = data.get(PUBLIC_KEYS) if data is not None else None
    if isinstance(listed, str):
        listed = listed.split(",")
    names = {str(name).strip() for name in (listed or ()) if str(name).strip()}
    for name in sorted(names):
        if not NAME_PATTERN.match(name):
            raise PreflightError(f"{PUBLIC_KEYS}: {name!r} is not an env key name")
    return frozenset(managed) | frozenset(names)


def is_public(key: str, public=()) -> bool:
    """Whether ``key``'s value may be shown: only when ``public`` names it."""
    return key in public


def is_hidden(value: str | None) -> bool:
    """Whether ``value`` is a host's ``<hidden DIGEST>`` stand-in for a value never sent."""
    return bool(value) and bool(HIDDEN.match(value))


def shown(key: str, value: str | None, public=()) -> str:
    """``value`` as output may say it: ``(unset)``, the value of a public key, else ``***``."""
    if value is None:
        return "(unset)"
    return value if is_public(key, public) and not is_hidden(value) else MASK


def check_managed(values: dict[str, str]):
    """Raise ValueError naming the first key or value that cannot be managed safely."""
    for key, value in values.items():
        if not KEY_PATTERN.match(key):
            raise ValueError(f"invalid env key {key!r}")
        if not isinstance(value, str) or not VALUE_PATTERN.match(value):
            raise ValueError(f"invalid value for {key}: only letters, digits and _.:/@,+- are allowed")


MISSHAPEN = "!misshapen "  # read_keys's marker of a key whose line the edit does not handle
# a managed key's line in any shape an operator may have written it, and the shapes the edit handles:
# KEY=value or export KEY=value, the value unquoted (no space, no #) or in one pair of quotes, CRLF or LF
_ANY_LINE = r"^[[:space:]]*(export[[:space:]]+)?({keys})[[:space:]]*="
_EDITABLE = "^(export[[:space:]]+)?({keys})=(\"[^\"]*\"|'[^']*'|[^[:space:]\"'#]*)\\r?$"


def read_keys(path: str, keys) -> str:
    """Shell printing the lines of ``keys`` in env file ``path`` as systemd and compose load them
    (``KEY=value``: no trailing CR, no ``export``, one pair of quotes removed; the last of a duplicated
    key), and ``!misshapen KEY`` for a key with a line the edit does not handle (indented, spaces around
    ``=``, an unquoted value holding a space or ``#``): of such a line only the key's name is printed::

        f"echo '## env'; {read_keys('/opt/vision/.env', ['VISION_A', 'VISION_B'])}"
    """
    names = "|".join(sorted(keys))
    program = (f"/{_ANY_LINE.format(keys=names)}/ {{ /{_EDITABLE.format(keys=names)}/ !{{ "
               f"s/{_ANY_LINE.format(keys=names)}.*/{MISSHAPEN}\\2/; p; d; }}; "
               "s/\\r$//; s/^export[[:space:]]+//; s/^([A-Za-z_][A-Za-z0-9_]*)=\"(.*)\"$/\\1=\\2/; "
               "s/^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/\\1=\\2/; p; }")
    last = "awk '/^!/ { print; next } { k = $0; sub(/=.*/, \"\", k); v[k] = $0 } END { for (k in v) print v[k] }'"
    return f"sed -n -E {q(program)} {q(path)} | {last}"


def misshapen(lines: list[str]) -> list[str]:
    """The keys ``read_keys`` marked: their lines have a shape the edit does not handle."""
    return sorted({line[len(MISSHAPEN):].strip() for line in lines if line.startswith(MISSHAPEN)})


def shape_refusal(path: str, keys: list[str]) -> str:
    """Why a run will not edit ``path`` ('' when every managed key's line has a shape it edits)."""
    if not keys:
        return ""
    return (f"{path}: the line of {', '.join(keys)} has a shape rollbook does not edit (it edits KEY=value and "
            "export KEY=value, a value unquoted without spaces or in one pair of quotes, LF or CRLF): fix it by hand")


def refusal(path: str, current: dict[str, str] | None, keys: list[str], missing: str = "not found") -> str:
    """Why a run will not edit ``path`` ('' when it may): ``missing`` (``current`` None), or ``shape_refusal``."""
    return f"{path} {missing}" if current is None else shape_refusal(path, keys)


def section(path: str, printed: str, test: str = "", name: str = "env") -> str:
    """``## env`` (or ``name``): ``present`` and ``printed``'s output when ``test`` (default: ``path`` is a file)
    holds, else ``missing``: ``section("/opt/search/.env", read_keys("/opt/search/.env", ["SEARCH_A"]))``."""
    return f"echo '## {name}'; if {test or f'[ -f {q(path)} ]'}; then echo present; {printed}; else echo missing; fi"


def values(lines: list[str] | None) -> dict[str, str] | None:
    """A ``section``'s ``KEY=value`` lines; None when it says ``missing`` (or is absent)."""
    return key_values(lines[1:]) if lines and lines[0] == "present" else None


def parse(text: str, keys) -> dict[str, str]:
    """The values of ``keys`` in env-file ``text`` (the last assignment wins)."""
    return {key: value for key, value in key_values(text.splitlines()).items() if key in keys}


def plan_changes(current: dict[str, str], target: dict[str, str]) -> list[Change]:
    """The keys whose value differs from ``target``, in ``target``'s order."""
    return [Change(key, current.get(key), value) for key, value in target.items() if current.get(key) != value]


def describe(plan: list[Change], public=()) -> list[str]:
    """``KEY: old -> new`` for each change; values of keys not in ``public`` show as ``***``."""
    return [f"{change.key}: {shown(change.key, change.old, public)} -> {shown(change.key, change.new, public)}"
            for change in plan]


def hiding(salt_file: str = SALT_FILE, targets: dict[str, str] | None = None) -> str:
    """Shell (run first in a fact's command) defining ``hide PUBLIC KIND``: the filter of ``scripts/hide_env.py``
    under the host's salt (``salt_file``, 32 random bytes made 0600 on first use; never printed, never
    sent), with ``targets`` (data's values) printed as they are. Use: ``hide VISION_A systemd < .env``."""
    salt = q(salt_file)
    wanted = f"RB_TARGETS={q(json.dumps(targets, sort_keys=True))} " if targets else ""
    return (f"hs=$(od -An -tx1 {salt} 2>/dev/null | tr -d ' \\n'); if [ -z \"$hs\" ]; then "
            f"( umask 077; mkdir -p \"$(dirname {salt})\" && t=$(mktemp {q(salt_file + '.XXXXXX')}) && "
            f"head -c 32 /dev/urandom > \"$t\" && {{ ln \"$t\" {salt} 2>/dev/null; rm -f \"$t\"; }} ) 2>/dev/null; "
            f"hs=$(od -An -tx1 {salt} 2>/dev/null | tr -d ' \\n'); fi; "
            f"[ -n \"$hs\" ] || hs=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'); "  # this command only
            f"hide() {{ {wanted}RB_SALT=\"$hs\" python3 -c {q(_HIDE)} \"$1\" \"$2\"; }}")


def hide(public, kind: str) -> str:
    """The ``hide`` filter (see ``hiding``) for the keys ``public``, its input of ``kind``: an env file read
    by its loader (``systemd``, ``compose``), a process's ``environ`` or a ``json`` list of ``KEY=value``::

        f"{hide(['VISION_A'], 'compose')} < /opt/vision/.env"
    """
    return f"hide {q(','.join(sorted(public)))} {q(kind)}"


def _copy_command(key: str) -> StringCommand:
    """Set ``key``'s line of ``$f`` to its last line in ``$s``, on the host: the line travels in a
    variable and the environment (awk's ENVIRON), never in arguments; every other byte stays."""
    return command(
        'l=$(grep -e {pattern} "$s" | tail -n 1); [ -n "$l" ] || {{ echo {missing} >&2; exit 1; }}; '
        'if grep -q -e {pattern} "$f"; then nl=$([ -z "$(tail -c1 "$f")" ] && echo 1); '
        't=$(mktemp "$f.rollbook.XXXXXX") && RB_LINE="$l" awk -v k={prefix} -v nl="$nl" {program} "$f" > "$t" '
        '&& cat "$t" > "$f"; rc=$?; rm -f "$t"; [ $rc -eq 0 ] || exit 1; '
        'else {{ [ -z "$(tail -c1 "$f")" ] || echo >> "$f"; printf \'%s\\n\' "$l" >> "$f"; }}; fi',
        pattern=f"^{key}=", missing=f"{key} is not in the source file", prefix=f"{key}=",
        program=program('\'index($0, k) == 1 { $0 = ENVIRON["RB_LINE"] } '
                        '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 } END { if (nl) printf "\\n" }\''))


def _set_command(key: str, value: str) -> StringCommand:
    """Set every line of ``key`` in ``$f`` (``export`` and a CRLF ending kept), or append one."""
    line = f"{key}={value}"
    return command(
        'if grep -q -E {pattern} "$f"; then sed -i --follow-symlinks -E {edit} "$f"; '
        'else {{ [ -z "$(tail -c1 "$f")" ] || echo >> "$f"; printf \'%s\\n\' {line} >> "$f"; }}; fi',
        pattern=f"^(export[[:space:]]+)?{key}=", line=line,
        edit=f"s|^(export[[:space:]]+)?{key}=[^\\r]*(\\r?)$|\\1{line}\\2|")  # a managed value holds no |


def edit_command(path: str, plan: list[Change], source: str | None = None, copied=()) -> StringCommand:
    """One shell command rewriting exactly the planned keys of ``path`` (appending missing ones). A key in
    ``copied`` gets its line from the file ``source`` on the host, so its value never leaves the host."""
    parts = [command("f={path}", path=path)]
    if any(change.key in copied for change in plan):
        if not source:
            raise ValueError("copied keys need a source file")
        parts.append(command("s={source}", source=source))
    parts += [_copy_command(change.key) if change.key in copied else _set_command(change.key, change.new)
              for change in plan]
    return joined(parts, "; ")


@operation()
def keys(path: str, current: dict[str, str], target: dict[str, str], backup_keep: int = 5, public=(),
         source: str | None = None, copied=(), root: str | None = None):
    """Converge ``target``'s keys in env file ``path``; every other line stays byte for byte. The run and
    ``--dry`` say ``KEY: old -> new`` per changed key.

    + current: the managed keys as the file holds them now (from a fact; ``<hidden ...>`` for values
      the host did not send)
    + copied: keys whose target is their line in ``source`` (``.env.previous``): copied on the host, never sent
    + backup_keep, root: as for ``files.content``

    Example::

        envfile.keys(name="Set the vision flags", path="/opt/vision/.env", current=state.env_file,
                     target={"VISION_PHASH_ENABLED": "false"}, public={"VISION_PHASH_ENABLED"})
    """
    plan = plan_changes(current, target)
    if not plan:
        return
    literal = {change.key: change.new for change in plan if change.key not in copied}
    hidden = sorted(key for key, value in literal.items() if is_hidden(value))
    if hidden:
        raise ValueError(f"{path}: {', '.join(hidden)}: a hidden value can only be copied from a source file")
    check_managed(literal)
    announce([f"{path}: {line}" for line in describe(plan, public)])
    yield command("{inside} && {backup}", inside=inside(path, root), backup=backup(path, backup_keep))
    yield edit_command(path, plan, source, copied)
