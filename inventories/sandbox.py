"""Sandbox hosts: local containers started by ``make sandbox`` (``python -m rollbook sandbox up``).

Reads ``.sandbox/state.json``; every host is reached on 127.0.0.1 with the sandbox
key and strict host key checking against the sandbox known_hosts. All hosts are
also in the group ``sandbox`` (this file's name), whose data is ``group_data/sandbox.py``::

    pyinfra inventories/sandbox.py exec -- systemctl is-system-running
"""

from rollbook.sandbox.state import inventory_groups

_groups = inventory_groups(["vision_workers", "analyticbot_api", "control", "phase17_server", "voice_v2"])

vision_workers = _groups["vision_workers"]
analyticbot_api = _groups["analyticbot_api"]
phase17_server = _groups["phase17_server"]
voice_v2 = _groups["voice_v2"]
control = _groups["control"]  # runs the scheduled drift check (deploys/drift_timer.py)
