"""The analyticbot API: partial and full rollback, migration 004 without data loss, release rollback,
and proof. Specification: runbook ``004…analyticbot.md``. Entry points::

    pyinfra inventories/prod.py deploys/analyticbot_rollback.py --data analyticbot_features=time_weighting
    pyinfra inventories/staging.py deploys/analyticbot_enable.py --data analyticbot_migration=apply
"""

from .deploy import analyticbot
from .. import System
from .steps import ANALYTICBOT

SYSTEM = System(ANALYTICBOT, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "analyticbot"]
