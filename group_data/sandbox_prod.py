"""The sandbox's hosts as production sees them (``inventories/sandbox_prod.py``): environment prod,
the ``rollbook`` user with sudo, approvals checked against the sandbox's generated allowed-signers
file (``.sandbox/allowed_signers``, never committed). A host runs these only once it is enrolled
as prod (``python -m rollbook sandbox enroll --as prod NAME``).
"""

from rollbook.sandbox.data import *  # noqa: F403 (pyinfra keeps the names as group data)

rollbook_environment = "prod"
rollbook_allowed_signers = ".sandbox/allowed_signers"

# The control host, installed from this inventory, checks the hosts as production reaches them.
rollbook_drift_inventory = "inventories/sandbox_prod.py"
