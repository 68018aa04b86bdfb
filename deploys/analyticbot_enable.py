"""Enable the analyticbot API's features again (``--data analyticbot_migration=apply`` restores migration 004).

    pyinfra inventories/staging.py deploys/analyticbot_enable.py
"""

from rollbook.systems.analyticbot import analyticbot

analyticbot(target="enabled")
