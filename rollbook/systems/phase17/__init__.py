"""The phase17 server: disable and re-enable the WebSocket stream ``/ws/video/stream``, and prove it.
Specification: runbook ``002…phase17.md``. Entry points::

    pyinfra inventories/prod.py deploys/phase17_rollback.py                          # Method 1 (router)
    pyinfra inventories/prod.py deploys/phase17_rollback.py --data phase17_method=flag   # Method 3

The runbook expects ``404 Not Found`` for the removed route; FastAPI closes an unrouted WebSocket before
accepting it, which uvicorn answers ``403 Forbidden``: the check is the effect (no 101, the HTTP API
still answers), not one status code.
"""

from .deploy import phase17
from .. import System
from .steps import PHASE17

SYSTEM = System(PHASE17, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "phase17"]
