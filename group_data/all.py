"""Every key rollbook reads, with its default and its allowed values.

Per-environment files (``sandbox.py``, ``staging.py``, ``prod.py``, named after the
inventory file they serve) and per-system files (named after the system's group:
``vision_workers.py``, ``analyticbot_api.py``) hold only what differs from here.
"""

import os

# --- environment -------------------------------------------------------------

# The environment of the hosts. sandbox | staging | prod. Unset inventories get
# the strictest treatment.
rollbook_environment = "prod"

# --- connection --------------------------------------------------------------

# Host keys are always checked. yes (never no or accept-new for real hosts)
ssh_strict_host_key_checking = "yes"

# known_hosts file holding the hosts' keys (outside the repo). A path.
ssh_known_hosts_file = os.path.expanduser("~/.ssh/known_hosts")
