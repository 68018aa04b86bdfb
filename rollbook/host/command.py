"""What an operation yields: pyinfra command objects (``StringCommand``), built from a template of shell
written here and named values that pyinfra quotes (``QuoteString``: ``shlex.quote``, the one quoting
path). A value can only enter as a field, so it is never pasted in unquoted; shell that rollbook wrote
itself (a snippet from ``shell``, another ``command``) is inlined as it is with ``program``::

    >>> str(command("git -C {checkout} checkout -q --detach {commit}", checkout="/opt/my app", commit="c0ffee"))
    "git -C '/opt/my app' checkout -q --detach c0ffee"
    >>> str(command("{first} && mv -f -- {staged} {path}", first=program("sync"), staged="a b", path="c"))
    "sync && mv -f -- 'a b' c"

Braces that are shell, not fields, are doubled as in ``str.format``: ``{{ echo x; }}``.
"""

from string import Formatter

from pyinfra.api.command import QuoteString, StringCommand


def program(text: str | StringCommand) -> StringCommand:
    """Shell rollbook wrote (never a value from data or from a host), inlined as it is by ``command``."""
    return text if isinstance(text, StringCommand) else StringCommand(text)


def command(template: str, **values) -> StringCommand:
    """``template`` with each ``{name}`` replaced by ``values[name]``: quoted by pyinfra, unless it is a
    command object (``program``, ``command``), which is inlined. A missing value raises KeyError."""
    bits = []
    for literal, field, spec, conversion in Formatter().parse(template):
        if literal:
            bits.append(literal)
        if field is None:
            continue
        if spec or conversion:
            raise ValueError(f"{{{field}}}: format specs and conversions are not supported")
        value = values[field]
        bits.append(value if isinstance(value, StringCommand) else QuoteString(str(value)))
    return StringCommand(*bits, _separator="")


def joined(parts, separator: str) -> StringCommand:
    """Command objects (or rollbook's shell) joined by ``separator`` (``"; "``, ``" && "``)."""
    return StringCommand(*(program(part) for part in parts), _separator=separator)
