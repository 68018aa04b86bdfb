"""Staging hosts (self-service: no approval needed). Data: ``group_data/staging.py``.

    pyinfra inventories/staging.py deploys/analyticbot_enable.py
"""

vision_workers = [
    "vision-worker-01.staging.rollbook.internal",
]

analyticbot_api = [
    "analyticbot-api-01.staging.rollbook.internal",
]

phase17_server = [
    "phase17-server-01.staging.rollbook.internal",
]

voice_v2 = [
    "voice-v2-01.staging.rollbook.internal",
]

control = [
    "rollbook-control-01.staging.rollbook.internal",  # runs the scheduled drift check (deploys/drift_timer.py)
]
