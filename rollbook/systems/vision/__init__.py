"""The vision worker: roll back or enable waves A, B, C and tokens-count, clean up, and prove it.
Specification: runbooks ``000…vision.md`` (flags, cleanup, monitoring) and ``001…vision-e2e.md`` (the
smoke test). Entry points: ``deploys/vision_rollback.py`` and ``deploys/vision_enable.py``::

    pyinfra inventories/sandbox.py deploys/vision_rollback.py --data vision_waves=b
"""

from .deploy import vision
from .. import System
from .request import CONTROL
from .steps import VISION

SYSTEM = System(VISION, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "CONTROL", "vision"]
