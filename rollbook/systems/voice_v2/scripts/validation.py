"""Runbook 003's post-rollback validation, run on the host by the service's own virtualenv, importing the
deployed code: the provider settings as the app reads them, ``ProductionValidator``, the STT and TTS test,
the TTS latencies. Prints one JSON line without any setting's value (an exception: its type and first words)::

    cd /opt/voice_v2 && venv_voice_v2_optimized/bin/python -B - 9 < validation.py
    {"providers": {"stt": {"openai": {"enabled": true, "priority": 1}}, ...}, "failed_providers": [],
     "stt": "ok (expected audio error)", "tts": "ok", "latencies": [0.021, ...], "latency_failures": 0}
"""

import asyncio
import json
import os
import sys
import time

TEXTS = ("Короткий тест", "Средний по длине тест для проверки производительности",
         "Длинный тест для проверки производительности системы после отката изменений в production environment")


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:80]}"


async def _providers(report: dict, requests: int):
    from app.services.voice_v2.core.config import get_config

    config = get_config()
    report["providers"] = {kind: {str(getattr(name, "value", name)): {"enabled": bool(entry.enabled),
                                                                      "priority": entry.priority}
                                  for name, entry in getattr(config, f"{kind}_providers").items()}
                           for kind in ("stt", "tts")}


async def _connectivity(report: dict, requests: int):
    from app.services.voice_v2.deployment_validation import ProductionValidator

    results = await ProductionValidator().validate_provider_connectivity()
    report["failed_providers"] = list(results["failed_providers"])


async def _pipelines(report: dict, requests: int):
    from app.services.voice_v2.core.schemas import STTRequest, TTSRequest
    from app.services.voice_v2.orchestrator import VoiceServiceOrchestrator

    orchestrator = VoiceServiceOrchestrator()
    await orchestrator.initialize()
    try:
        try:  # the runbook's fake audio: an audio error means the pipeline works
            await orchestrator.process_stt(STTRequest(audio_data=b"fake_audio_data", language="ru"))
            report["stt"] = "ok"
        except Exception as error:
            report["stt"] = "ok (expected audio error)" if "audio" in str(error).lower() else f"error {_why(error)}"
        try:
            await orchestrator.process_tts(TTSRequest(text="Тест системы после отката", language="ru"))
            report["tts"] = "ok"
        except Exception as error:
            report["tts"] = f"error {_why(error)}"
        latencies, failures = [], 0
        for index in range(requests):
            start = time.monotonic()
            try:
                await orchestrator.process_tts(TTSRequest(text=TEXTS[index % len(TEXTS)], language="ru"))
                latencies.append(round(time.monotonic() - start, 4))
            except Exception:
                failures += 1
        report["latencies"], report["latency_failures"] = latencies, failures
    finally:
        await orchestrator.cleanup()


async def main(requests: int) -> dict:
    """Each step's findings in one report; a step that fails adds ``<step>_error`` instead."""
    report = {}
    for name, step in (("providers", _providers), ("connectivity", _connectivity), ("pipelines", _pipelines)):
        try:
            await step(report, requests)
        except Exception as error:
            report[f"{name}_error"] = _why(error)
    return report


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    print(json.dumps(asyncio.run(main(int(sys.argv[1]))), ensure_ascii=False))
