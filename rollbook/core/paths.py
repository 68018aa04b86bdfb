"""Where rollbook's checkout is: the folder holding ``deploys/``, ``inventories/``, ``group_data/``,
``templates/`` and ``approvals/``. One place for it, whether rollbook runs from the checkout itself or
is installed (``pip install .``) and run from inside a checkout::

    checkout() / "approvals" / "allowed_signers"

Running from a checkout, the checkout is the one holding the code that runs. Installed,
``ROLLBOOK_CHECKOUT`` names it (else the working directory). ``rollbook.core.authority`` refuses a
``ROLLBOOK_CHECKOUT`` that names another folder than the running checkout.
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
