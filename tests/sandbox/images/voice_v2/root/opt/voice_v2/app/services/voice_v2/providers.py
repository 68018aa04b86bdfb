"""The speech vendors. A provider is connected when its credentials ``<NAME>_API_KEY`` hash to one of
the vendor's valid keys (``$VOICE_V2_VENDOR_KEYS``: sha256 lines); a missing or wrong key is not."""

import hashlib
from pathlib import Path

from .core.config import setting


def _valid_keys() -> set:
    try:
        return set(Path(setting("VOICE_V2_VENDOR_KEYS", "/etc/voice_v2/vendor-keys")).read_text().split())
    except OSError:
        return set()


def connected(name: str) -> bool:
    key = setting(f"{name.upper()}_API_KEY")
    return bool(key) and hashlib.sha256(key.encode()).hexdigest() in _valid_keys()
