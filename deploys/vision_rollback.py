"""Roll the vision worker back: every wave by default, or ``--data vision_waves=b`` (any of a,b,c,tokens).

    pyinfra inventories/prod.py deploys/vision_rollback.py --data vision_waves=b
"""

from rollbook.systems.vision import vision

vision(target="rolled_back")
