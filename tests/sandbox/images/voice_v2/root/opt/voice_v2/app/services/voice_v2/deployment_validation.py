"""Deployment validation (runbook 003, "Provider connectivity")::

    results = await ProductionValidator().validate_provider_connectivity()
    results["failed_providers"]     # ['stt:yandex', ...]: enabled providers that do not connect
"""

from .core.config import get_config
from .providers import connected


class ProductionValidator:
    async def validate_provider_connectivity(self) -> dict:
        config = get_config()
        connected_providers, failed = [], []
        for kind in ("stt", "tts"):
            for provider, entry in sorted(getattr(config, f"{kind}_providers").items()):
                if entry.enabled:
                    (connected_providers if connected(provider.value) else failed).append(f"{kind}:{provider.value}")
        return {"connected_providers": connected_providers, "failed_providers": failed}
