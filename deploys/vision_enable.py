"""Enable the vision worker's waves again (the runbook's recommended values from group data).

    pyinfra inventories/staging.py deploys/vision_enable.py --data vision_waves=a,b
"""

from rollbook.systems.vision import vision

vision(target="enabled")
