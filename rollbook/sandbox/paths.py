"""Where the sandbox keeps things: one place for every path it uses.

``ROLLBOOK_SANDBOX_DIR`` moves the state folder (the benchmark uses its own)::

    from rollbook.sandbox.paths import sandbox_dir
    sandbox_dir() / "state.json"
"""

import os
from pathlib import Path

from ..core.paths import checkout

REPO = checkout()
RECIPES = REPO / "tests" / "sandbox"  # image recipes (Dockerfiles, files baked in)
BUILD_CONTEXT = REPO / "tests"  # recipes and stand-in services, sent to `docker build`
WHEELS = BUILD_CONTEXT / ".wheels"  # wheelhouses of the recipes with a requirements.txt (never committed)
ROOTFS_CACHE = Path(os.environ.get("ROLLBOOK_ROOTFS_CACHE", "/var/cache/rollbook"))


def sandbox_dir() -> Path:
    """The folder holding state, keys and logs of the running sandbox (never committed)."""
    return Path(os.environ.get("ROLLBOOK_SANDBOX_DIR", REPO / ".sandbox"))
