"""The sandbox environment (``inventories/sandbox.py``): differences from ``all.py``.

Connection data (port, key, sandbox known_hosts) comes per host from the sandbox state.
"""

rollbook_environment = "sandbox"

# The experiments the sandbox's vision hosts are provisioned with (tests/sandbox/images/vision_worker).
vision_experiments = {
    "wave_a": {"enabled": True, "default_variant": "treatment", "force_tenants": ["tenant-a"]},
    "wave_b": {"enabled": True, "default_variant": "treatment", "force_tenants": ["tenant-a", "tenant-b"]},
    "wave_c": {"enabled": True, "default_variant": "treatment", "force_tenants": []},
}

# The sandbox's control host checks the sandbox itself.
rollbook_drift_inventory = "inventories/sandbox.py"
rollbook_drift_interval_minutes = 5
