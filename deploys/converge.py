"""Converge every system on every host to its recorded state (declared state where none is recorded,
with ``rollbook_converge_declared``): vision, analyticbot, phase17 and voice-v2.

A scheduled run therefore never silently re-enables a feature that an operator rolled back::

    pyinfra inventories/prod.py deploys/converge.py --dry     # what differs (python -m rollbook drift)
"""

from rollbook.systems import converge_all

converge_all()
