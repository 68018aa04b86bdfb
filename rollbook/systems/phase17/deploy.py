"""The phase17 ``@deploy``: the pipeline, with the phase17 server's stages (``steps.PHASE17``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import PHASE17


@deploy("phase17")
def phase17(target: str):
    """
    Converge the phase17 server's WebSocket stream to ``target`` (``enabled`` or ``rolled_back``)
    with ``phase17_method`` (router | flag), restart it when the running process differs, verify.

    Example:

    .. code:: python

        from rollbook.systems.phase17 import phase17
        phase17(target="rolled_back")
    """
    pipeline.run(PHASE17, target)
