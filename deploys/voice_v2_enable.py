"""Converge voice-v2 back to the current release (``voice_current_*`` in group data), at ``voice_level``.

    pyinfra inventories/staging.py deploys/voice_v2_enable.py --data voice_level=3
"""

from rollbook.systems.voice_v2 import voice_v2

voice_v2(target="enabled")
