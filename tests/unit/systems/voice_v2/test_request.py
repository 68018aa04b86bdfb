"""The voice-v2 request as data: validation, enable, recovery secrets, provider settings, scope, the units a
run converges (per level, or every recorded unit) and level 2's source."""

import json
from dataclasses import replace

import pytest

from rollbook.core.preflight import PreflightError
from rollbook.systems.voice_v2 import request as voice

from ...harness import group_data, validated

PROVIDERS = json.dumps({kind: {"google": {"enabled": True, "priority": 1}, "openai": {"enabled": True, "priority": 3},
                               "yandex": {"enabled": True, "priority": 2}} for kind in ("stt", "tts")})


def request(target="rolled_back", env="sandbox", **overrides):
    data = {**group_data(env), **overrides}
    return voice.request_from(validated(data), voice.desired_state(validated(data), target, {})[0], target)


def test_the_default_is_level_1_from_env_previous_with_openai_first():
    made = request()
    assert (made.level, made.env_from_previous, made.priorities, made.enable_providers) == (1, True, {"openai": 1}, {})
    assert made.desired == {"env": "rolled_back", "providers": "rolled_back"} and made.levels == (1,)
    assert made.recover is None and made.settings.pip_args == "--no-index"


@pytest.mark.parametrize("overrides, cause", [
    ({"voice_level": 4}, "voice_level: Input should be less than or equal to 3"),
    ({"voice_level": "two"}, "voice_level: Input should be a valid integer"),
    ({"voice_unit": "supervisor"}, "voice_unit: Input should be 'systemd' or 'compose'"),
    ({"voice_env_source": "backup"}, "voice_env_source: Input should be 'previous' or 'data'"),
    ({"voice_provider_priorities": "openai:0"}, "voice_provider_priorities: Value error, openai:0: not name:priority"),
    ({"voice_disable_providers": "Open AI"}, "voice_disable_providers: Value error, 'open ai': not a provider name"),
    ({"voice_rolled_back_env": {"VOICE_V2_OPTIMIZED": "a b"}}, r"voice_rolled_back_env\[VOICE_V2_OPTIMIZED\]: 'a b' is not allowed"),
    ({"voice_level": 2, "voice_code_source": "git"}, "voice_git_ref is required"),
    ({"voice_level": 2, "voice_code_source": "git", "voice_git_ref": "v1; rm -rf /"}, r"voice_git_ref: 'v1; rm -rf /' is not allowed \(None or a ref\)"),
    ({"voice_backup_dir": "backup/voice_v2_20251101"}, "voice_backup_dir: .* is not allowed"),
    ({"voice_previous_image_tag": "previous stable"}, "voice_previous_image_tag: .* is not allowed"),
    ({"voice_latency_avg_seconds": "0"}, "voice_latency_avg_seconds: Input should be greater than 0"),
])
def test_bad_input_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause):
        request(**overrides)


def test_enable_converges_to_the_current_release():
    made = request("enabled", voice_level=2)
    assert (made.code_source, made.ref, made.image_tag) == ("git", "v2.0.0", "latest")
    assert made.desired == {"code": "enabled", "requirements": "enabled"}
    assert made.env == {"VOICE_V2_OPTIMIZED": "true", "VOICE_V2_TTS_DELAY_MS": "40"} and not made.env_from_previous
    assert made.enable_providers == {"google": True, "yandex": True, "openai": True}
    assert request("enabled", voice_level=3, voice_unit="compose").desired == {"image": "enabled"}
    assert request("rolled_back", voice_level=3).desired == {"venv": "rolled_back"}  # a systemd host


def test_recovery_needs_the_s3_secrets(monkeypatch):
    monkeypatch.delenv("S3_ACCESS_KEY_ID", raising=False)
    data = {**group_data(), "voice_recover_files": "true"}
    level_1 = {"env": "rolled_back", "providers": "rolled_back"}
    with pytest.raises(PreflightError, match="secret S3_ACCESS_KEY_ID is not set .*recovering voice files"):
        voice.request_from(validated(data), level_1, "rolled_back")
    assert voice.request_from(validated(data), level_1).recover is None  # a converge run recovers nothing
    monkeypatch.setenv("S3_ACCESS_KEY_ID", "AKIA-TEST-ID")
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "s")
    made = voice.request_from(validated({**data, "voice_backup_prefix": "2025-08-02/"}), level_1, "rolled_back")
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
    assert voice.scope_of(validated({**group_data("prod"), "voice_level": "2", "voice_backup_dir": "/backup/voice_v2_20251101"})) == {
        "voice_level": "2", "voice_code_source": "backup", "voice_backup_dir": "/backup/voice_v2_20251101",
        "voice_git_ref": "none", "voice_previous_image_tag": "previous-stable", "voice_image_registry": "none",
        "voice_recover_files": "false"}


def test_converge_takes_every_recorded_unit_of_the_host_s_kind_and_declares_the_rest_only_when_allowed():
    prod, sandbox = group_data("prod"), group_data("sandbox")  # rollbook_converge_declared: false, true
    recorded = {"env": "rolled_back", "image": "enabled", "venv": "rolled_back", "zz": "enabled", "code": "maybe"}
    assert voice.desired_state(validated(prod), None, recorded) == ({"env": "rolled_back", "venv": "rolled_back"}, True)
    compose = {**prod, "voice_unit": "compose"}
    assert voice.desired_state(validated(compose), None, recorded) == ({"env": "rolled_back", "image": "enabled"}, True)
    assert voice.desired_state(validated(prod), None, {}) == ({}, True)  # nothing recorded: left alone
    # declared: every unit of the host's kind enabled, but a virtualenv declared enabled is left alone
    assert voice.desired_state(validated(sandbox), None, {"env": "rolled_back"}) == (
        {"env": "rolled_back", "providers": "enabled", "code": "enabled", "requirements": "enabled"}, False)
    assert voice.desired_state(validated({**sandbox, "voice_unit": "compose"}), None, {}) == (
        {"env": "enabled", "providers": "enabled", "image": "enabled"}, False)
    with pytest.raises(PreflightError, match="voice_declared_state: code and requirements differ"):
        voice.desired_state(validated({**sandbox, "voice_declared_state": {"code": "rolled_back"}}), None, {})


def test_level_2_s_units_share_one_state_and_former_records_stand_for_their_level():
    systemd, compose = "systemd", "compose"
    assert voice.recorded_state({"code": "rolled_back"}, systemd) == {"code": "rolled_back",
                                                                      "requirements": "rolled_back"}
    assert voice.recorded_state({"config": "rolled_back", "system": "rolled_back"}, systemd) == {
        "env": "rolled_back", "providers": "rolled_back", "venv": "rolled_back"}
    assert voice.recorded_state({"config": "rolled_back", "system": "enabled"}, compose) == {
        "env": "rolled_back", "providers": "rolled_back", "image": "enabled"}
    # once a unit of the level is recorded, the former record no longer counts
    assert voice.recorded_state({"config": "rolled_back", "env": "enabled"}, systemd) == {"env": "enabled"}
    assert voice.desired_state(validated(group_data("prod")), None, {"code": "rolled_back"})[1] is True


def test_a_converge_run_converges_several_levels_with_each_unit_s_values():
    data = group_data("sandbox")
    made = voice.request_from(validated(data), {"env": "rolled_back", "providers": "enabled", "image": "enabled"})
    assert (made.target, made.level, made.levels) == (None, None, (1, 3))
    assert made.env_from_previous and made.enable_providers == {"google": True, "yandex": True, "openai": True}
    assert made.image_tag == "latest" and made.recover is None
    assert made.describe() == "env rolled back, providers enabled, image enabled"
    back = voice.request_from(validated(data), {"image": "rolled_back"})
    assert back.image_tag == "previous-stable" and not back.env_from_previous  # env not converged: current values


def test_level_2_s_source_is_the_recorded_one_in_a_converge_run():
    data = {**group_data("sandbox"), "voice_code_source": "git"}  # no voice_git_ref: a rollback would need one
    with pytest.raises(PreflightError, match="voice_git_ref is required for a level 2 rollback from git"):
        voice.request_from(validated({**data, "voice_level": 2}), {"code": "rolled_back", "requirements": "rolled_back"},
                           "rolled_back")
    made = voice.request_from(validated(data), {"code": "rolled_back", "requirements": "rolled_back"})
    assert made.code_source == "git" and made.ref is None
    backup = voice.code_source(made, {"code": "/backup/voice_v2_20251101"})
    assert (backup.kind, backup.backup_dir, backup.ref, backup.recorded) == (
        "backup", "/backup/voice_v2_20251101", None, "/backup/voice_v2_20251101")
    commit = voice.code_source(made, {"code": "c0ffee"})
    assert (commit.kind, commit.backup_dir, commit.ref) == ("git", None, "c0ffee")
    assert voice.code_source(made, {}) == voice.CodeSource("git", None, None)  # none recorded: data's choice
    assert voice.code_source(made, {"code": "x; rm -rf /"}) == voice.CodeSource("git", None, None)
    with pytest.raises(ValueError, match="neither a backup directory nor a git ref"):
        voice.recorded_source("x; rm -rf /")
    rollback = replace(made, target="rolled_back")  # a rollback: data's source, never the recorded one
    assert voice.code_source(rollback, {"code": "/backup/voice_v2_20251101"}).recorded == ""
    enable = voice.request_from(validated(data), {"code": "enabled", "requirements": "enabled"})
    assert voice.code_source(enable, {"code": "/backup/voice_v2_20251101"}) == voice.CodeSource("git", None, "v2.0.0")
