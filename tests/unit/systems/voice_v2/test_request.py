"""The voice-v2 request as data: validation, enable, recovery secrets, provider settings, scope."""

import json

import pytest

from rollbook.preflight import PreflightError
from rollbook.systems.voice_v2 import request as voice

from ...harness import group_data

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


def test_scope_binds_the_level_and_its_options():
    assert voice.scope_of({**group_data("prod"), "voice_level": "2", "voice_backup_dir": "/backup/voice_v2_20251101"}) == {
        "voice_level": "2", "voice_code_source": "backup", "voice_backup_dir": "/backup/voice_v2_20251101",
        "voice_git_ref": "none", "voice_previous_image_tag": "previous-stable", "voice_recover_files": "false"}
