"""``python -m rollbook ...``: see ``rollbook.cli``."""

import sys

from .cli import main

sys.exit(main())
