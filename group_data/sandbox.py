"""The sandbox environment (``inventories/sandbox.py``): differences from the defaults.

Connection data (port, key, sandbox known_hosts) comes per host from the sandbox state;
what every sandbox inventory shares is in ``rollbook/sandbox/data.py``.
"""

from rollbook.sandbox.data import *
from rollbook.sandbox.state import notify_url as _notify_url

rollbook_environment = "sandbox"

# A unit no run recorded converges to its declared state (self-service sandbox).
rollbook_converge_declared = True

# An e2e test's local receiver, when one listens (a run's notice; none otherwise).
rollbook_notify_webhook = _notify_url()

# The control host, installed from this inventory, checks the sandbox as the sandbox reaches it.
rollbook_drift_inventory = "inventories/sandbox.py"
