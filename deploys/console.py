"""Install the web console (rollbook serve, a systemd unit on 127.0.0.1) on the control hosts.

    pyinfra inventories/prod.py deploys/console.py
"""

from rollbook.admin.console_unit import console

console()
