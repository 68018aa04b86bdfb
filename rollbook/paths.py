"""Where rollbook's checkout is: the folder holding ``deploys/``, ``inventories/``, ``group_data/``,
``templates/`` and ``approvals/``. One place for it, whether rollbook runs from the checkout itself or
is installed (``pip install .``) and run from inside a checkout::

    checkout() / "approvals" / "allowed_signers"

``ROLLBOOK_CHECKOUT`` names it explicitly (the drift timer on a control host sets it).
"""

import os
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1]


def checkout() -> Path:
    named = os.environ.get("ROLLBOOK_CHECKOUT")
    if named:
        return Path(named).resolve()
    if (_SOURCE / "deploys").is_dir():  # running from the checkout itself
        return _SOURCE
    return Path.cwd().resolve()
