"""The analyticbot ``@deploy``: the pipeline, with the analyticbot API's stages (``steps.ANALYTICBOT``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import ANALYTICBOT


@deploy("analyticbot")
def analyticbot(target: str | None = None):
    """
    Converge the analyticbot API: with ``target`` the units named by ``analyticbot_features``,
    without every unit to its recorded (or declared) state. Migration 004 and a release
    checkout only when asked for.

    Example:

    .. code:: python

        from rollbook.systems.analyticbot import analyticbot
        analyticbot(target="rolled_back")
    """
    pipeline.run(ANALYTICBOT, target)
