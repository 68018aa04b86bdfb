"""The sandbox environment (``inventories/sandbox.py``): differences from the defaults.

Connection data (port, key, sandbox known_hosts) comes per host from the sandbox state;
what every sandbox inventory shares is in ``rollbook/sandbox/data.py``.
"""

from rollbook.sandbox.data import *

rollbook_environment = "sandbox"

# A unit no run recorded converges to its declared state (self-service sandbox).
rollbook_converge_declared = True

# The control host, installed from this inventory, checks the sandbox as the sandbox reaches it.
rollbook_drift_inventory = "inventories/sandbox.py"
