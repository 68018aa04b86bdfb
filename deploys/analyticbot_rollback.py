"""Roll the analyticbot API back: ``--data analyticbot_features=all|time_weighting|content_type`` (default all).

Migration 004 only on request (``--data analyticbot_migration=rollback``); a known-good release
with ``--data analyticbot_release=<git ref>``::

    pyinfra inventories/prod.py deploys/analyticbot_rollback.py --data analyticbot_features=time_weighting
"""

from rollbook.systems.analyticbot import analyticbot

analyticbot(target="rolled_back")
