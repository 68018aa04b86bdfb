"""voice-v2: the runbook's three rollback levels, voice-file recovery, and proof (runbook ``003…voice-v2.md``).

One level per rollback or enable (``voice_level``, default 1; levels do not include each other); a
converge run (``deploys/converge.py``) converges every recorded unit, of any level, in one run::

    pyinfra inventories/prod.py deploys/voice_v2_rollback.py                       # level 1: .env + providers
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=2  # code from the newest backup
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=3  # image tag / virtualenv
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_recover_files=true
    pyinfra inventories/prod.py deploys/voice_v2_enable.py --data voice_level=2    # back to the current release

A host records one state per unit (``request``) and, beside them, the level-2 source a rollback restored
(``sources``: the backup directory or git commit), so a converge run restores the same one. The levels
are ``levels``, the stages the pipeline runs ``steps``.
"""

from .deploy import voice_v2
from .. import System
from .steps import VOICE

SYSTEM = System(VOICE, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "voice_v2"]
