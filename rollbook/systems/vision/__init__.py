"""The vision worker: roll back or enable waves A, B, C and tokens-count, clean up, and prove it.

Specification: runbooks ``000…vision.md`` (flags, cleanup, monitoring) and
``001…vision-e2e.md`` (the smoke test). Entry points: ``deploys/vision_rollback.py``
and ``deploys/vision_enable.py``::

    pyinfra inventories/sandbox.py deploys/vision_rollback.py --data vision_waves=b

Modules:

- ``request``: the wave table, ``VisionRequest``, ``scope_of``, ``desired_state``, ``request_from``
  (host data -> what a run converges), the experiments file and worker environment it leaves
- ``facts``: ``VisionHost`` (the state before a run, in one command) and ``VisionEffect`` (what the
  worker shows after one)
- ``checks``: active experiments before a rollback; the verification of the effect and of wave C's cleanup
- ``cleanups``: the rollback's one-off cleanups (``analysis.context``, the S3 result cache)
- ``settings``: every ``vision_*`` data key, declared once (type, default, allowed values, doc)
- ``steps``: the stages the pipeline runs (converge, apply, verify, cleanup)
- ``deploy``: the ``@deploy`` ``vision``
"""

from .deploy import vision
from .. import System
from .request import CONTROL, MANAGED_KEYS, STATES, WAVES, VisionRequest, desired_state, request_from, scope_of
from .steps import VISION

SYSTEM = System(VISION, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "CONTROL", "MANAGED_KEYS", "STATES", "WAVES", "VisionRequest", "desired_state", "request_from",
           "scope_of", "vision"]
