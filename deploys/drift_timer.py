"""Install the scheduled drift check (systemd timer + service) on the control hosts.

    pyinfra inventories/prod.py deploys/drift_timer.py
"""

from rollbook.admin.drift_timer import drift_timer

drift_timer()
