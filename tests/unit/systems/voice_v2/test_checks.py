"""The voice-v2 checks as data: the runbook's validation and its p95."""

from rollbook.systems.voice_v2 import checks as voice
from rollbook.systems.voice_v2.facts import ImageState, VoiceObservation

from .test_request import request


def test_p95_follows_the_runbook():
    assert voice.p95([0.1] * 8 + [2.0]) == 2.0 and voice.p95([1.0, 2.0, 3.0]) == 3.0 and voice.p95([]) == 0.0


def observation(**changes):
    seen = dict(running={"VOICE_V2_OPTIMIZED": "false", "OPENAI_API_KEY": "x"}, health_code=200,
                health={"status": "healthy", "code": "c", "requirements": "r"}, providers_code=200,
                providers={"stt": {"openai": {"enabled": True, "priority": 1, "connected": True}},
                           "tts": {"openai": {"enabled": True, "priority": 1, "connected": True}},
                           "failed_providers": []},
                stt_code=200, stt={"ok": True, "provider": "openai"}, tts_code=200, tts={"ok": True, "provider": "openai"},
                latencies=[0.05] * 9, latency_failures=0, memory_mb=20.0, image=None)
    seen.update(changes)
    return VoiceObservation(**seen)


def failed(checks):
    return [statement for ok, statement in checks if not ok]


def test_the_validation_passes_and_names_each_failure():
    made = request()
    judge = voice.judge(made, {"VOICE_V2_OPTIMIZED": "false", "OPENAI_API_KEY": "x"}, None, ("c", "r"),
                        public={"VOICE_V2_OPTIMIZED"})
    assert failed(judge(observation())) == []
    broken = observation(running={"VOICE_V2_OPTIMIZED": "true", "OPENAI_API_KEY": "y"}, memory_mb=2048.0,
                         latencies=[3.5] * 9, tts_code=503, tts={"ok": False, "error": "no connected tts provider"},
                         health={"status": "healthy", "code": "old", "requirements": "r"},
                         providers={"stt": {"openai": {"enabled": True, "connected": False}}, "tts": {},
                                    "failed_providers": ["stt:openai"]})
    problems = " | ".join(failed(judge(broken)))
    assert "OPENAI_API_KEY=*** (want ***)" in problems and "VOICE_V2_OPTIMIZED=true (want false)" in problems
    assert "running code old" in problems and "not connected: stt:openai" in problems
    assert "TTS smoke request 503 via no connected tts provider" in problems
    assert "average 3.500s (< 3s)" in problems and "service memory 2048.0 MB (< 1024 MB)" in problems
    assert "y" not in problems.split("OPENAI_API_KEY=")[1][:12]


def test_the_image_check_compares_image_ids():
    made = request(voice_level=3, voice_unit="compose")
    judge = voice.judge(made, {}, None, None)
    assert failed(judge(observation(image=ImageState("", "sha256:b", "sha256:b")))) == []
    assert failed(judge(observation(image=ImageState("", "sha256:b", "sha256:a")))) == [
        "container runs voice-v2:previous-stable (sha256:a), want sha256:b"]
