"""Converge every system on every host to its recorded state (declared state where none is recorded).

A scheduled run therefore never silently re-enables a feature that an operator rolled back::

    pyinfra inventories/prod.py deploys/converge.py --dry     # what differs (python -m rollbook drift)
"""

from rollbook.systems.analyticbot import analyticbot
from rollbook.systems.vision import vision

vision()
analyticbot()
