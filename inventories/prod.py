"""Production hosts (every run needs an approval or an emergency override).

Data, including strict host key checking and the known_hosts file, is in
``group_data/prod.py``::

    pyinfra inventories/prod.py deploys/vision_rollback.py --data vision_waves=b
"""

vision_workers = [
    "vision-worker-01.prod.rollbook.internal",
    "vision-worker-02.prod.rollbook.internal",
    "vision-worker-03.prod.rollbook.internal",
]

analyticbot_api = [
    "analyticbot-api-01.prod.rollbook.internal",
    "analyticbot-api-02.prod.rollbook.internal",
]

phase17_server = [
    "phase17-server-01.prod.rollbook.internal",
]

voice_v2 = [
    "voice-v2-01.prod.rollbook.internal",
    "voice-v2-02.prod.rollbook.internal",
]

control = [
    "rollbook-control-01.prod.rollbook.internal",  # runs the scheduled drift check (deploys/drift_timer.py)
]
