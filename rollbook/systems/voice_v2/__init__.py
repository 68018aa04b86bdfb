"""voice-v2: the runbook's three rollback levels, voice-file recovery, and proof.

Specification: runbook ``003…voice-v2.md``. One level per rollback or enable (``--data
voice_level=1|2|3``, default 1); levels do not include each other. A converge run
(``deploys/converge.py``) converges every recorded unit, of any level, in one run::

    pyinfra inventories/prod.py deploys/voice_v2_rollback.py                       # level 1: .env + providers
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=2  # code from the newest backup
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=3  # image tag / virtualenv
    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_recover_files=true
    pyinfra inventories/prod.py deploys/voice_v2_enable.py --data voice_level=2    # back to the current release

- level 1: ``.env`` converges to ``.env.previous`` (or ``voice_rolled_back_env``), backed up first;
  the provider settings file: providers in ``voice_disable_providers`` disabled, priorities from
  ``voice_provider_priorities``; restart when the running process differs.
- level 2 (systemd hosts): ``app/services/voice_v2`` from a backup directory (the replaced tree kept
  as ``voice_v2.failed.<stamp>``) and its ``requirements.txt`` installed into the virtualenv; or a
  known-good git ref (``voice_code_source=git``).
- level 3: compose hosts swap the image tag to ``voice_previous_image_tag``; systemd hosts restore
  the virtualenv from its backup copy.

Recorded per host (``state.json``), one state per unit: level 1 ``env`` and ``providers``, level 2
``code`` and ``requirements``, level 3 ``image`` (compose) or ``venv`` (systemd); and, beside the
units, the level-2 source a rollback restored (``sources``: the backup directory or git commit),
so a converge run restores the same one.

Modules:

- ``request``: ``VoiceRequest``, ``scope_of``, ``desired_state``, ``request_from`` (host data -> what a
  run converges), ``code_source`` (level 2's source), the provider settings a level-1 run leaves
  (``providers_text``)
- ``facts``: ``VoiceHost`` (the state before a run, per level, in one command), ``VoiceRecorded`` (what a
  converge run reads first) and ``VoiceEffect`` (what the service shows after one)
- ``operations``: voice-v2's own operations (code tree, requirements, git checkout, virtualenv,
  image tag, voice files in S3)
- ``checks``: the runbook's post-rollback validation (``judge``)
- ``settings``: every ``voice_*`` data key, declared once (type, default, allowed values, doc)
- ``steps``: the stages the pipeline runs (per level: refusal, converge, apply; then verify and
  voice-file recovery as the cleanup)
- ``deploy``: the ``@deploy`` ``voice_v2``
"""

from .deploy import voice_v2
from .. import System
from .request import UNITS, VoiceRequest, desired_state, request_from, scope_of
from .steps import VOICE

SYSTEM = System(VOICE, __name__)  # registered: rollbook.systems.SYSTEMS finds it

__all__ = ["SYSTEM", "UNITS", "VoiceRequest", "desired_state", "request_from", "scope_of", "voice_v2"]
