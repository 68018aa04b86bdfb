"""Scripts that run on the managed hosts (sent on standard input or as an argument, never imported
here): real files, linted like the rest. The generic ones live here; a system's own in its package's
``scripts/`` folder. ``source("run_record")`` is a script's text (``.py`` unless the name has its own
extension, as ``stream_entries.awk``); ``source("ws_probe", __file__)`` one beside the module
``__file__`` names, in its ``scripts/``::

    >>> "def begin" in source("run_record")
    True
"""

from pathlib import Path

_HERE = Path(__file__).parent


def source(name: str, beside: str | None = None) -> str:
    """The text of the host script ``<name>.py`` (or ``<name>``, when it has an extension) here, or in the
    ``scripts/`` folder beside the module file ``beside``."""
    folder = Path(beside).parent / "scripts" if beside else _HERE
    return (folder / (name if "." in name else f"{name}.py")).read_text()
