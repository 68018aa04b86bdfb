"""voice-v2: the runbook's three rollback levels, voice-file recovery, and proof (runbook ``003…voice-v2.md``);
one level per rollback or enable (levels do not include each other), every recorded unit per converge run::

    pyinfra inventories/prod.py deploys/voice_v2_rollback.py                       # level 1: .env + providers
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=2  # code from the newest backup
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=3  # image tag / virtualenv
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_recover_files=true
    pyinfra inventories/prod.py deploys/voice_v2_enable.py --data voice_level=2    # back to the current release

The levels are ``levels``, the stages the pipeline runs ``steps``.
"""

from .deploy import voice_v2
from .. import System
from .steps import VOICE

SYSTEM = System(VOICE, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "voice_v2"]
