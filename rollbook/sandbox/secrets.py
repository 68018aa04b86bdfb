"""Secrets of the sandbox hosts: generated once per sandbox, kept in ``.sandbox/secrets.env``.

They play the operator's secrets for sandbox runs and are written into the hosts'
own env files at provisioning, as on real hosts. Never committed. Example::

    ensure_secrets()["VISION_DB_PASSWORD"]
"""

import secrets as random

from .state import secrets_path

NAMES = (
    "VISION_DB_PASSWORD",
    "GIGACHAT_CLIENT_SECRET",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "ANALYTICBOT_DB_PASSWORD",
    "ANALYTICBOT_API_TOKEN",
    "ANALYTICBOT_JWT_SECRET",
)


def read_env_file(path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def ensure_secrets() -> dict[str, str]:
    """Return the sandbox secrets, generating any that are missing (file mode 0600)."""
    path = secrets_path()
    values = read_env_file(path) if path.exists() else {}
    missing = [name for name in NAMES if name not in values]
    if missing:
        values.update({name: random.token_urlsafe(24) for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return values
