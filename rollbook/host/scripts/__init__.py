"""Scripts that run on the managed hosts (sent on standard input, never imported here): real files,
linted like the rest. ``source("ws_probe")`` is a script's text::

    >>> "import socket" in source("ws_probe").replace("import base64, hashlib, json, os, socket", "import socket")
    True
"""

from pathlib import Path

_HERE = Path(__file__).parent


def source(name: str) -> str:
    """The text of the host script ``<name>.py`` beside this module."""
    return (_HERE / f"{name}.py").read_text()
