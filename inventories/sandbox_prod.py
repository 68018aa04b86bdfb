"""The sandbox's hosts as production reaches them: environment prod (approvals), the ``rollbook``
user with sudo, strict host keys. Data: ``group_data/sandbox_prod.py``. A host must be enrolled as
prod first (as a team enrolls a real host)::

    python -m rollbook sandbox enroll --as prod vision-1
    pyinfra inventories/sandbox_prod.py deploys/vision_rollback.py --dry
"""

from rollbook.sandbox.state import inventory_groups

_groups = inventory_groups(["vision_workers", "analyticbot_api", "control", "phase17_server", "voice_v2"],
                           as_production=True)

vision_workers = _groups["vision_workers"]
analyticbot_api = _groups["analyticbot_api"]
phase17_server = _groups["phase17_server"]
voice_v2 = _groups["voice_v2"]
control = _groups["control"]
