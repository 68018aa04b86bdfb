"""The operator's secrets: from the environment, or from the file ``rollbook_secrets_file`` names.

Never from the repo, never printed. A missing one is a preflight error naming it::

    token = secret("ANALYTICBOT_API_TOKEN", host.data)
"""

import os
from pathlib import Path

from .preflight import PreflightError

REPO = Path(__file__).resolve().parents[1]


def _from_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


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
