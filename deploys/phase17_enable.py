"""Enable the phase17 WebSocket stream again (``--data phase17_method=router|flag``, default router).

    pyinfra inventories/staging.py deploys/phase17_enable.py
"""

from rollbook.systems.phase17 import phase17

phase17(target="enabled")
