"""Roll the phase17 WebSocket stream back: ``--data phase17_method=router|flag`` (default router).

    pyinfra inventories/prod.py deploys/phase17_rollback.py --data phase17_method=flag
"""

from rollbook.systems.phase17 import phase17

phase17(target="rolled_back")
