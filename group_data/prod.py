"""The production environment (``inventories/prod.py``): differences from ``all.py``."""

import os

rollbook_environment = "prod"
ssh_user = "rollbook"
ssh_known_hosts_file = os.environ.get("ROLLBOOK_PROD_KNOWN_HOSTS", os.path.expanduser("~/.ssh/known_hosts.rollbook-prod"))
