"""Every host's defaults: taken from the settings models, where each key is declared once.

The keys, their types, defaults, allowed values and docs are listed in ``docs/data.md``
(generated: ``python -m rollbook schema``). Per-environment files (``sandbox.py``,
``sandbox_prod.py``, ``staging.py``, ``prod.py``, named after the inventory file they serve)
and per-system files (named after the system's group) hold only what differs.
"""

from rollbook.core.schema import defaults as _defaults

globals().update(_defaults())
