"""The analyticbot API: partial and full rollback, migration 004 without data loss, release rollback,
and proof. Specification: runbook ``004…analyticbot.md``. Entry points::

    pyinfra inventories/prod.py deploys/analyticbot_rollback.py --data analyticbot_features=time_weighting
    pyinfra inventories/staging.py deploys/analyticbot_enable.py --data analyticbot_migration=apply

Modules:

- ``request``: the flags and units, ``AnalyticbotRequest``, ``scope_of``, ``desired_state``,
  ``request_from`` (host data -> what a run converges), ``effective`` (what the API does with flags)
- ``facts``: ``AnalyticbotHost`` (the state before a run, in one command) and ``AnalyticbotEffect``
  (what the API shows after one)
- ``checks``: the runbook's validation (``judge``)
- ``migration``: migration 004's rollback and apply SQL
- ``settings``: every ``analyticbot_*`` data key, declared once (type, default, allowed values, doc)
- ``steps``: the stages the pipeline runs (converge, apply, verify, cleanup)
- ``deploy``: the ``@deploy`` ``analyticbot``
"""

from .deploy import analyticbot
from .. import System
from .request import AnalyticbotRequest, desired_state, request_from, scope_of
from .steps import ANALYTICBOT

SYSTEM = System(ANALYTICBOT, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "AnalyticbotRequest", "analyticbot", "desired_state", "request_from", "scope_of"]
