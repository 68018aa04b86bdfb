"""The vision ``@deploy``: the pipeline, with the vision worker's stages (``steps.VISION``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import VISION


@deploy("vision")
def vision(target: str | None = None):
    """Converge the vision worker: with ``target`` (``enabled`` or ``rolled_back``) the waves in
    ``vision_waves``; without, every wave to its recorded state (declared state where none)::

        vision(target="rolled_back")      # deploys/vision_rollback.py
    """
    pipeline.run(VISION, target)
