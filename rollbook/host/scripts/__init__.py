"""Scripts that run on the managed hosts (sent on standard input or as an argument, never imported
here): real files, linted like the rest. ``source("ws_probe")`` is a script's text (``.py`` unless the
name has its own extension, as ``stream_entries.awk``)::

    >>> "import socket" in source("ws_probe").replace("import base64, hashlib, json, os, socket", "import socket")
    True
"""

from pathlib import Path

_HERE = Path(__file__).parent


def source(name: str) -> str:
    """The text of the host script ``<name>.py`` (or ``<name>``, when it has an extension) beside this module."""
    return (_HERE / (name if "." in name else f"{name}.py")).read_text()
