"""A drift correction: converge every system on every host back to the state an authorized run
recorded (what ``rollbook drift --correct`` runs; in prod it needs no new approval because it
converges only to recorded state, and so it takes no ``--data`` but ``rollbook_takeover``)::

    rollbook drift inventories/prod.py --correct
"""

from rollbook.systems import converge_all

converge_all()
