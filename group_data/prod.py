"""The production environment (``inventories/prod.py``): differences from ``all.py``.

rollbook connects as the ``rollbook`` user (enrolled by ``deploys/bootstrap.py``) and every
operation runs through sudo.
"""

import os

rollbook_environment = "prod"
ssh_user = "rollbook"
_sudo = True
ssh_known_hosts_file = os.environ.get("ROLLBOOK_PROD_KNOWN_HOSTS", os.path.expanduser("~/.ssh/known_hosts.rollbook-prod"))
