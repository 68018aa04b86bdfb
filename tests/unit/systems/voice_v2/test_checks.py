"""The voice-v2 checks as data: the runbook's validation and its p95."""

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from rollbook.systems.voice_v2 import checks as voice
from rollbook.systems.voice_v2.facts import CodeState, ImageState, VoiceObservation, VoiceState

from ...harness import fake_host, group_data, validated
from .test_request import request


@pytest.fixture(autouse=True)
def on_a_host():
    with fake_host():
        yield


def context(made, **state):
    """What the verification reads: the run's request, the host's state before the run and its settings."""
    return SimpleNamespace(request=made, state=VoiceState(**{**dict(env_file={}, previous=None, providers=None,
                                                                     running=None, started=0.0), **state}),
                           settings=validated(group_data("sandbox")))


def test_p95_follows_the_runbook():
    assert voice.p95([0.1] * 8 + [2.0]) == 2.0 and voice.p95([1.0, 2.0, 3.0]) == 3.0 and voice.p95([]) == 0.0


VALIDATION = {"providers": {"stt": {"openai": {"enabled": True, "priority": 1}},
                             "tts": {"openai": {"enabled": True, "priority": 1}}},
              "failed_providers": [], "stt": "ok (expected audio error)", "tts": "ok", "latencies": [0.05] * 9,
              "latency_failures": 0}


def observation(**changes):
    seen = dict(running={"VOICE_V2_OPTIMIZED": "false", "OPENAI_API_KEY": "x"}, started=100.0, health_code=200,
                health={"status": "healthy"}, validation=VALIDATION, memory_mb=20.0, image=None,
                providers_changed=90.0, code={"tree": "c", "installed": "r", "changed": "95.0"})
    seen.update(changes)
    return VoiceObservation(**seen)


def failed(checks):
    return [statement for ok, statement in checks if not ok]


def test_the_validation_passes_and_names_each_failure():
    made = replace(request(rollbook_public_env_keys="VOICE_V2_OPTIMIZED"),  # levels 1 and 2
                   desired={unit: "rolled_back" for unit in ("env", "providers", "code", "requirements")})
    providers = {kind: {"openai": {"enabled": True, "priority": 1}} for kind in ("stt", "tts")}
    judge = voice.judge(context(made, previous={"VOICE_V2_OPTIMIZED": "false", "OPENAI_API_KEY": "x"},
                                providers=json.dumps(providers), code=CodeState(target="c", target_requirements="r")))
    assert failed(judge(observation())) == []
    broken = observation(running={"VOICE_V2_OPTIMIZED": "true", "OPENAI_API_KEY": "y"}, memory_mb=2048.0,
                         code={"tree": "old", "installed": "r", "changed": "101.0"}, providers_changed=100.5,
                         validation={**VALIDATION, "latencies": [3.5] * 9, "tts": "error RuntimeError: no connected "
                                     "tts provider", "failed_providers": ["stt:openai"],
                                     "providers": {"stt": {"openai": {"enabled": True, "priority": 2}}, "tts": {}}})
    problems = " | ".join(failed(judge(broken)))
    assert "OPENAI_API_KEY=*** (want ***)" in problems and "VOICE_V2_OPTIMIZED=true (want false)" in problems
    assert "code tree old (want c)" in problems and "started before its code, requirements or virtualenv" in problems
    assert "the app reads other provider settings" in problems
    assert "the service started before the provider settings last changed" in problems
    assert "not connected: stt:openai" in problems and "TTS pipeline: error RuntimeError: no connected" in problems
    assert "average 3.500s (< 3s)" in problems and "service memory 2048.0 MB (< 1024 MB)" in problems
    assert "y" not in problems.split("OPENAI_API_KEY=")[1][:12]


def test_a_validation_that_did_not_run_or_a_health_that_does_not_answer_fails():
    judge = voice.judge(context(replace(request(), desired={})))  # the shared checks alone
    problems = failed(judge(observation(validation={}, health_code=0, health={})))
    assert problems[0] == "GET /health no answer"
    assert "the runbook's validation printed nothing" in problems[1] and len(problems) == 2


def test_the_virtualenv_check_compares_it_with_its_backup_and_the_start():
    judge = voice.judge(context(request(voice_level=3)))
    assert failed(judge(observation(code={"venv": "v0", "backup": "v0", "changed": "95"}))) == []
    assert failed(judge(observation(code={"venv": "v1", "backup": "v0", "changed": "95"}))) == [
        "the virtualenv is not its backup copy"]


def test_the_image_check_compares_image_ids():
    made = request(voice_level=3, voice_unit="compose")
    judge = voice.judge(context(made))
    assert failed(judge(observation(image=ImageState("", "sha256:b", "sha256:b")))) == []
    assert failed(judge(observation(image=ImageState("", "sha256:b", "sha256:a")))) == [
        "container runs voice-v2:previous-stable (sha256:a), want sha256:b"]


def test_each_failure_carries_the_runbook_s_scenario_and_the_next_level():
    """Runbook 003's emergency scenarios, in its words, after the failed checks they apply to; every
    scenario of the table meets a failure of the judge."""
    from rollbook.host.verify import decided

    judge = voice.judge(context(replace(request(), desired={})))  # the shared checks alone
    broken = observation(memory_mb=2048.0, validation={**VALIDATION, "latencies": [3.5] * 9, "failed_providers":
                                                        ["stt:openai"], "tts": "error RuntimeError: none"})
    said = [statement for ok, statement in decided(judge(broken) + judge(observation(validation={})),
                                                   voice.DECISIONS) if ok is False]
    assert [decision.words for decision in voice.DECISIONS
            if not any(decision.said() in statement for statement in said)] == []
    [latency] = [statement for statement in said if statement.startswith("TTS latency")]
    assert latency.endswith('[runbook 003, Scenario 2: Performance Degradation: "Response time increase > 50%" -> '
                            "if this level's rollback did not fix it, the next one: --data voice_level=2 (code), "
                            "then 3 (container or virtualenv)]")
