"""The operator's secrets: from the environment, or from the file ``rollbook_secrets_file`` names.

Never from the repo, never printed. A missing one is a preflight error naming it::

    token = secret("ANALYTICBOT_API_TOKEN", settings, "the best-times check")
"""

import os
from pathlib import Path

from dotenv import dotenv_values

from .preflight import PreflightError
from .paths import checkout

REPO = checkout()


def _from_file(path: Path) -> dict[str, str]:
    """The file's ``KEY=value`` lines as python-dotenv reads them (quotes, ``export``, comments)."""
    return {key: value for key, value in dotenv_values(path, interpolate=False).items() if value is not None}


def secret(name: str, data, purpose: str) -> str:
    """The value of secret ``name``; PreflightError naming it (and ``purpose``) when it is not set."""
    if os.environ.get(name):
        return os.environ[name]
    configured = data.get("rollbook_secrets_file")
    if configured:
        path = REPO / str(configured)
        if path.is_file():
            value = _from_file(path).get(name)
            if value:
                return value
    where = f"the environment or {configured}" if configured else "the environment"
    raise PreflightError(f"secret {name} is not set in {where} ({purpose})")
