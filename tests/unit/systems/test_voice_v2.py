"""The voice-v2 system's decisions as data: preflight, provider settings, and the runbook's validation."""

import json

import pytest

from rollbook.facts.voice_v2 import ImageState, VoiceObservation
from rollbook.preflight import PreflightError
from rollbook.systems import voice_v2 as voice

from ..harness import group_data

PROVIDERS = json.dumps({kind: {"google": {"enabled": True, "priority": 1}, "openai": {"enabled": True, "priority": 3},
                               "yandex": {"enabled": True, "priority": 2}} for kind in ("stt", "tts")})


def request(target="rolled_back", env="sandbox", **overrides):
    return voice.request_from({**group_data(env), **overrides}, target)


def test_the_default_is_level_1_from_env_previous_with_openai_first():
    made = request()
    assert (made.level, made.env_from_previous, made.priorities, made.enable_providers) == (1, True, {"openai": 1}, {})
    assert made.recover is None and made.settings.pip_args == "--no-index"


@pytest.mark.parametrize("overrides, cause", [
    ({"voice_level": 4}, "voice_level: '4' is not one of 1, 2, 3"),
    ({"voice_level": "two"}, "voice_level: 'two' is not one of 1, 2, 3"),
    ({"voice_unit": "supervisor"}, "voice_unit: 'supervisor' is not one of systemd, compose"),
    ({"voice_env_source": "backup"}, "voice_env_source: 'backup' is not one of previous, data"),
    ({"voice_provider_priorities": "openai:0"}, r"voice_provider_priorities\[openai\]: '0' is not a positive"),
    ({"voice_disable_providers": "Open AI"}, "voice_disable_providers: 'open ai' is not a provider name"),
    ({"voice_rolled_back_env": {"VOICE_V2_OPTIMIZED": "a b"}}, "voice_rolled_back_env: invalid value"),
    ({"voice_level": 2, "voice_code_source": "git"}, "voice_git_ref is required"),
    ({"voice_level": 2, "voice_code_source": "git", "voice_git_ref": "v1; rm -rf /"}, "is not a git ref name"),
    ({"voice_backup_dir": "backup/voice_v2_20251101"}, "voice_backup_dir: .* is not an absolute path"),
    ({"voice_previous_image_tag": "previous stable"}, "voice_previous_image_tag: .* is not an image tag"),
    ({"voice_latency_avg_seconds": "0"}, "voice_latency_avg_seconds: '0' is not a positive number"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause):
        request(**overrides)


def test_enable_converges_to_the_current_release():
    made = request("enabled", voice_level=2)
    assert (made.code_source, made.ref, made.image_tag) == ("git", "v2.0.0", "latest")
    assert made.env == {"VOICE_V2_OPTIMIZED": "true", "VOICE_V2_TTS_DELAY_MS": "40"} and not made.env_from_previous
    assert made.enable_providers == {"google": True, "yandex": True, "openai": True}


def test_recovery_needs_the_s3_secrets(monkeypatch):
    monkeypatch.delenv("S3_ACCESS_KEY_ID", raising=False)
    data = {**group_data(), "voice_recover_files": "true"}
    with pytest.raises(PreflightError, match="secret S3_ACCESS_KEY_ID is not set .*recovering voice files"):
        voice.request_from(data, "rolled_back")
    monkeypatch.setenv("S3_ACCESS_KEY_ID", "AKIA-TEST-ID")
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "s")
    made = voice.request_from({**data, "voice_backup_prefix": "2025-08-02/"}, "rolled_back")
    assert made.recover[0].bucket == "voice-files-backup" and made.recover[1] == "2025-08-02/"
    assert made.recover[2].bucket == "voice-files" and "AKIA-TEST-ID" not in repr(made.recover)


def test_provider_settings_disable_and_reprioritise_in_stt_and_tts():
    made = request(voice_disable_providers="yandex", voice_provider_priorities="openai:1,google:2")
    text, document = voice.providers_text(PROVIDERS, made, "h:/p.json")
    for kind in ("stt", "tts"):
        assert document[kind] == {"google": {"enabled": True, "priority": 2}, "openai": {"enabled": True, "priority": 1},
                                  "yandex": {"enabled": False, "priority": 2}}
    assert json.loads(text) == document and text.endswith("\n")
    assert voice.providers_text(text, made, "h:/p.json")[0] == text  # converged: a rerun writes the same


@pytest.mark.parametrize("current, cause", [
    (None, "h:/p.json is missing or not JSON"),
    ('{"stt": {}}', "has no stt and tts provider tables"),
    (PROVIDERS, "has no provider nuance"),
])
def test_unusable_provider_settings_are_refused(current, cause):
    with pytest.raises(PreflightError, match=cause):
        voice.providers_text(current, request(voice_disable_providers="nuance"), "h:/p.json")


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
    judge = voice.judge(made, {"VOICE_V2_OPTIMIZED": "false", "OPENAI_API_KEY": "x"}, None, ("c", "r"))
    assert failed(judge(observation())) == []
    broken = observation(running={"VOICE_V2_OPTIMIZED": "true", "OPENAI_API_KEY": "y"}, memory_mb=2048.0,
                         latencies=[3.5] * 9, tts_code=503, tts={"ok": False, "error": "no connected tts provider"},
                         health={"status": "healthy", "code": "old", "requirements": "r"},
                         providers={"stt": {"openai": {"enabled": True, "connected": False}}, "tts": {},
                                    "failed_providers": ["stt:openai"]})
    problems = " | ".join(failed(judge(broken)))
    assert "OPENAI_API_KEY=******** (want ********)" in problems and "VOICE_V2_OPTIMIZED=true" in problems
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


def test_scope_binds_the_level_and_its_options():
    assert voice.scope_of({**group_data("prod"), "voice_level": "2", "voice_backup_dir": "/backup/voice_v2_20251101"}) == {
        "voice_level": "2", "voice_code_source": "backup", "voice_backup_dir": "/backup/voice_v2_20251101",
        "voice_git_ref": "none", "voice_previous_image_tag": "previous-stable", "voice_recover_files": "false"}
