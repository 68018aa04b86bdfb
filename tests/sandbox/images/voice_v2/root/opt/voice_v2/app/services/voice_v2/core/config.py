"""voice_v2's configuration (runbook 003, "Provider Configuration Rollback"): ``get_config()`` and
``set_config(config)``; ``config.stt_providers[ProviderType.OPENAI].enabled`` and ``.priority``.

The provider settings live in ``$VOICE_V2_PROVIDERS_FILE`` (JSON)::

    {"stt": {"openai": {"enabled": true, "priority": 2}, ...}, "tts": {...}}

Settings come from the environment, then from ``.env`` in the working directory (as pydantic-settings'
``env_file=".env"`` reads it: a script run from the app's directory sees the service's settings).
"""

import json
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class ProviderType(str, Enum):
    OPENAI = "openai"
    GOOGLE = "google"
    YANDEX = "yandex"


@dataclass
class ProviderConfig:
    enabled: bool = True
    priority: int = 99


@dataclass
class VoiceConfig:
    stt_providers: dict = field(default_factory=dict)  # ProviderType -> ProviderConfig
    tts_providers: dict = field(default_factory=dict)


def _dotenv(path: str = ".env") -> dict:
    values = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return values
    for line in lines:
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def setting(name: str, default: str = "") -> str:
    """A setting: the environment's value, else ``.env``'s, else ``default``."""
    if name in os.environ:
        return os.environ[name]
    return _dotenv().get(name, default)


def providers_file() -> str:
    return setting("VOICE_V2_PROVIDERS_FILE", "config/providers.json")


def get_config() -> VoiceConfig:
    document = json.loads(Path(providers_file()).read_text())
    config = VoiceConfig()
    for kind in ("stt", "tts"):
        for name, entry in (document.get(kind) or {}).items():
            getattr(config, f"{kind}_providers")[ProviderType(name)] = ProviderConfig(
                enabled=bool(entry.get("enabled")), priority=int(entry.get("priority", 99)))
    return config


def set_config(config: VoiceConfig) -> None:
    document = {kind: {provider.value: {"enabled": entry.enabled, "priority": entry.priority}
                       for provider, entry in sorted(getattr(config, f"{kind}_providers").items())}
                for kind in ("stt", "tts")}
    Path(providers_file()).write_text(json.dumps(document, indent=2) + "\n")
