"""The voice-v2 ``@deploy``: the pipeline, with voice-v2's stages (``steps.VOICE``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import VOICE


@deploy("voice_v2")
def voice_v2(target: str | None = None):
    """Converge the units of ``voice_level`` to ``target``; without, every unit to its recorded state::

        voice_v2(target="rolled_back")    # deploys/voice_v2_rollback.py
        voice_v2()                        # deploys/converge.py
    """
    pipeline.run(VOICE, target)
