"""The sandbox environment (``inventories/sandbox.py``): differences from the defaults.

Connection data (port, key, sandbox known_hosts) comes per host from the sandbox state;
what every sandbox inventory shares is in ``rollbook/sandbox/data.py``.
"""

from rollbook.sandbox.data import *  # noqa: F403 (pyinfra keeps the names as group data)

rollbook_environment = "sandbox"

# A unit no run recorded converges to its declared state (self-service sandbox).
rollbook_converge_declared = True

# The sandbox's control host checks the sandbox itself, with the sandbox's state, key, known_hosts and
# secrets placed in this folder on it (as a team places a control host's key).
rollbook_drift_inventory = "inventories/sandbox.py"
rollbook_drift_interval_minutes = 5
rollbook_control_environment = {"ROLLBOOK_SANDBOX_DIR": "/etc/rollbook-drift/sandbox"}
