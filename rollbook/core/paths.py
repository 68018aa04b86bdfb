"""Where rollbook's checkout is: the one holding the running code; installed, ``ROLLBOOK_CHECKOUT`` (else
the working directory)::

    checkout() / "approvals" / "allowed_signers"
"""

import os
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[2]  # rollbook/core/paths.py -> the checkout


def source_checkout() -> Path | None:
    """The checkout whose code runs (None for an installed rollbook)."""
    return _SOURCE if (_SOURCE / "deploys").is_dir() else None


def checkout() -> Path:
    running = source_checkout()
    if running is not None:
        return running
    named = os.environ.get("ROLLBOOK_CHECKOUT")
    return Path(named).resolve() if named else Path.cwd().resolve()
