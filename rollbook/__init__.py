"""rollbook: converge features to ``enabled`` or ``rolled_back`` across hosts, and prove it.

The library behind the pyinfra deploys in ``deploys/``. See README.md.
"""

__version__ = "0.4.0"
