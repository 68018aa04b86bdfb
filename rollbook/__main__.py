"""``python -m rollbook ...``: see ``rollbook.cli``."""

import sys

from .cli import console

sys.exit(console())
