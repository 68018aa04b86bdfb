"""The phase17 server: disable and re-enable the WebSocket stream ``/ws/video/stream``, and prove it.
Specification: runbook ``002…phase17.md``. Entry points::

    pyinfra inventories/prod.py deploys/phase17_rollback.py                          # Method 1 (router)
    pyinfra inventories/prod.py deploys/phase17_rollback.py --data phase17_method=flag   # Method 3
    pyinfra inventories/staging.py deploys/phase17_enable.py
    pyinfra inventories/prod.py deploys/converge.py                                   # every recorded unit

One unit per method, recorded per host (``state.json``): ``router`` and ``flag``, each ``enabled``
or ``rolled_back``. A rollback or enable converges (and records) the unit of its method; a converge
run converges every recorded unit in one run, and the stream must be served (101) only when every
unit it converges is enabled. A unit whose method main.py's shape does not allow (router: its lines
not at column 0; flag: no guard) is left alone by a converge run when it is declared or recorded
enabled, and refused when recorded rolled_back.

``router`` comments out exactly the runbook's two lines of ``server/app/main.py`` (enable restores
them: the file is byte-identical afterwards) and refuses when they are not there as expected.
``flag`` converges ``STREAMING_ENABLED`` in the unit's env file and needs main.py's
``if STREAMING_ENABLED:`` guard. The unit restarts when the running process differs: it started
before main.py last changed, or its environment holds another flag value. Verify: ``/v1/health``
answers 200; a real WebSocket upgrade is refused (rolled back: no 101) or accepted with 101
(enabled); the Phase 15/16 suites pass with the server's own virtualenv; and (enabled) the server
process's RSS does not grow over stream connect/disconnect cycles.

The runbook expects ``404 Not Found`` for the removed route; FastAPI (Starlette) closes an unrouted
WebSocket before accepting it, which uvicorn answers ``403 Forbidden``. Both are a refusal: the
check is the effect (no 101, the HTTP API still answers), not one status code. The sandbox runs the
real thing: current FastAPI, uvicorn and websockets wheels.

Modules:

- ``request``: ``Phase17Request``, ``scope_of``, ``desired_state``, ``request_from`` (host data -> what a
  run converges)
- ``facts``: the runbook's router lines, ``Phase17Host`` (the state before a run, in one command)
  and ``Phase17Effect`` (what the server shows after one)
- ``checks``: ``converged`` (the units a run converges on this host), ``refusal`` (can their methods apply
  to it) and the verification (``judge``)
- ``settings``: every ``phase17_*`` data key, declared once (type, default, allowed values, doc)
- ``steps``: the stages the pipeline runs (refusal, converge, apply, verify)
- ``deploy``: the ``@deploy`` ``phase17``
"""

from .deploy import phase17
from .. import System
from .request import UNITS, Phase17Request, desired_state, request_from, scope_of
from .steps import PHASE17

SYSTEM = System(PHASE17, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "UNITS", "Phase17Request", "desired_state", "phase17", "request_from", "scope_of"]
