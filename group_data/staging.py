"""The staging environment (``inventories/staging.py``): differences from ``all.py``.

rollbook connects as the ``rollbook`` user (enrolled by ``deploys/bootstrap.py``) and every
operation runs through sudo.
"""

import os

rollbook_environment = "staging"
ssh_user = "rollbook"
_sudo = True
ssh_known_hosts_file = os.environ.get("ROLLBOOK_STAGING_KNOWN_HOSTS", os.path.expanduser("~/.ssh/known_hosts.rollbook-staging"))
