"""The voice-v2 ``@deploy``: the pipeline, with voice-v2's stages (``steps.VOICE``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import VOICE


@deploy("voice_v2")
def voice_v2(target: str):
    """
    Converge voice-v2 at the level ``voice_level`` to ``target`` (``rolled_back`` or ``enabled``),
    verify the service, recover voice files when asked, record the run.

    Example:

    .. code:: python

        from rollbook.systems.voice_v2 import voice_v2
        voice_v2(target="rolled_back")
    """
    pipeline.run(VOICE, target)
