"""The staging environment (``inventories/staging.py``): differences from ``all.py``."""

import os

rollbook_environment = "staging"
ssh_user = "rollbook"
ssh_known_hosts_file = os.environ.get("ROLLBOOK_STAGING_KNOWN_HOSTS", os.path.expanduser("~/.ssh/known_hosts.rollbook-staging"))
