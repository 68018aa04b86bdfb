"""The operator's secrets: from the environment, or the file ``rollbook_secrets_file`` names; never from
the repo, never printed::

    token = secret("ANALYTICBOT_API_TOKEN", settings, "the best-times check")
"""

import os

from dotenv import dotenv_values

from . import runs
from .preflight import PreflightError
from .paths import checkout

REPO = checkout()


def secret(name: str, data, purpose: str) -> str:
    """The value of secret ``name``; PreflightError naming it (and ``purpose``) when it is not set."""
    if os.environ.get(name):
        runs.SESSION.secrets.add(os.environ[name])  # the run's notice scrubs it
        return os.environ[name]
    configured = data.get("rollbook_secrets_file")
    if configured:
        path = REPO / str(configured)
        if path.is_file():
            value = dotenv_values(path, interpolate=False).get(name)  # quotes, ``export``, comments
            if value:
                runs.SESSION.secrets.add(value)
                return value
    where = f"the environment or {configured}" if configured else "the environment"
    raise PreflightError(f"secret {name} is not set in {where} ({purpose})")
