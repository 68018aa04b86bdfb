"""The phase17 ``@deploy``: the pipeline, with the phase17 server's stages (``steps.PHASE17``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import PHASE17


@deploy("phase17")
def phase17(target: str | None = None):
    """Converge the phase17 server's WebSocket stream: with ``target`` (``enabled`` or ``rolled_back``)
    the unit of ``phase17_method`` (router | flag); without, every unit to its recorded state::

        phase17(target="rolled_back")     # deploys/phase17_rollback.py
    """
    pipeline.run(PHASE17, target)
