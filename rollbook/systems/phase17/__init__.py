"""The phase17 server: disable and re-enable the WebSocket stream ``/ws/video/stream``, and prove it.
Specification: runbook ``002…phase17.md``. Entry points::

    pyinfra inventories/prod.py deploys/phase17_rollback.py                          # Method 1 (router)
    pyinfra inventories/prod.py deploys/phase17_rollback.py --data phase17_method=flag   # Method 3
    pyinfra inventories/staging.py deploys/phase17_enable.py
    pyinfra inventories/prod.py deploys/converge.py                                   # every recorded unit

One unit per method (``request``): ``router`` comments out (enable: restores) the runbook's two lines of
``server/app/main.py``; ``flag`` converges ``STREAMING_ENABLED`` in the unit's env file under main.py's
``if STREAMING_ENABLED:`` guard. The runbook expects ``404 Not Found`` for the removed route; FastAPI
closes an unrouted WebSocket before accepting it, which uvicorn answers ``403 Forbidden``: the check is
the effect (no 101, the HTTP API still answers), not one status code.
"""

from .deploy import phase17
from .. import System
from .request import UNITS, Phase17Request, desired_state, request_from, scope_of
from .steps import PHASE17

SYSTEM = System(PHASE17, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "UNITS", "Phase17Request", "desired_state", "phase17", "request_from", "scope_of"]
