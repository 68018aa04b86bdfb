"""Scripts that run on the managed hosts (sent on standard input or as an argument, never imported
here): real files, linted like the rest. The generic ones live here; a system's own in its package's
``scripts/`` folder::

    >>> "def begin" in source("run_record")
    True
"""

from pathlib import Path

_HERE = Path(__file__).parent


def source(name: str, beside: str | None = None) -> str:
    """The text of the host script ``<name>.py`` (or ``<name>``, when it has an extension: ``stream_entries.awk``)
    here, or in the ``scripts/`` folder beside the module file ``beside`` (``source("ws_probe", __file__)``)."""
    folder = Path(beside).parent / "scripts" if beside else _HERE
    return (folder / (name if "." in name else f"{name}.py")).read_text()
