"""The analyticbot ``@deploy``: the pipeline, with the analyticbot API's stages (``steps.ANALYTICBOT``)."""

from pyinfra.api import deploy

from ... import pipeline
from .steps import ANALYTICBOT


@deploy("analyticbot")
def analyticbot(target: str | None = None):
    """Converge the analyticbot API: with ``target`` the units named by ``analyticbot_features``,
    without every unit to its recorded (or declared) state; migration 004 and a release checkout only
    when asked for::

        analyticbot(target="rolled_back")   # deploys/analyticbot_rollback.py
    """
    pipeline.run(ANALYTICBOT, target)
