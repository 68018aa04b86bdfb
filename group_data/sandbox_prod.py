"""The sandbox's hosts as production sees them (``inventories/sandbox_prod.py``): prod's settings
(``group_data/prod.py``: environment prod, the ``rollbook`` user, sudo), changed only where the
sandbox must: its known_hosts, approvals checked against its generated allowed-signers file
(``.sandbox/allowed_signers``, never committed), and its notification endpoint. A host runs these
only once it is enrolled as prod (``python -m rollbook sandbox enroll vision-1 --as prod``).
"""

from rollbook.sandbox.data import *
from rollbook.sandbox.state import notify_url as _notify_url

# --- as group_data/prod.py -----------------------------------------------------------------------
rollbook_environment = "prod"
ssh_user = "rollbook"
_sudo = True

# --- what the sandbox must change ----------------------------------------------------------------
rollbook_allowed_signers = ".sandbox/allowed_signers"
rollbook_notify_webhook = _notify_url()  # an e2e test's local receiver, when one listens

# The control host, installed from this inventory, checks the hosts as production reaches them.
rollbook_drift_inventory = "inventories/sandbox_prod.py"
