"""The sandbox environment (``inventories/sandbox.py``): differences from ``all.py``.

Connection data (port, key, sandbox known_hosts) comes per host from the sandbox state.
"""

rollbook_environment = "sandbox"
