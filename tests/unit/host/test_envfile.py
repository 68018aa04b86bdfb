"""Env-file plans: only managed keys change, every other byte stays, secrets are never shown."""

import subprocess

from rollbook.host import envfile

ORIGINAL = (
    "# header comment\n"
    "GIGACHAT_CLIENT_SECRET=s3cr3t=with=equals\n"
    "VISION_PHASH_ENABLED=true\n"
    "  INDENTED=keep me\n"
    "DATABASE_URL=postgresql://vision:pw@127.0.0.1/vision\n"
    "VISION_ROI_CROP_ENABLED=true"  # no newline at the end
)


def apply(tmp_path, text: str, target: dict) -> str:
    path = tmp_path / ".env"
    path.write_text(text)
    plan = envfile.plan_changes(envfile.parse(text, target), target)
    subprocess.run(["sh", "-c", envfile.edit_command(str(path), plan)], check=True)
    return path.read_text()


def test_only_the_planned_keys_change_and_every_other_byte_stays(tmp_path):
    result = apply(tmp_path, ORIGINAL, {"VISION_PHASH_ENABLED": "false", "VISION_ROI_CROP_ENABLED": "true"})
    assert result == ORIGINAL.replace("VISION_PHASH_ENABLED=true", "VISION_PHASH_ENABLED=false")


def test_a_missing_key_is_appended_on_its_own_line(tmp_path):
    result = apply(tmp_path, ORIGINAL, {"FEATURE_VISION_COMPRESSION_POC": "false"})
    assert result == ORIGINAL + "\nFEATURE_VISION_COMPRESSION_POC=false\n"


def test_applying_the_plan_twice_changes_nothing(tmp_path):
    target = {"VISION_PHASH_ENABLED": "false", "NEW_KEY": "1"}
    once = apply(tmp_path, ORIGINAL, target)
    assert envfile.plan_changes(envfile.parse(once, target), target) == []


def test_describe_masks_secret_keys_and_shows_flags():
    plan = envfile.plan_changes({"VISION_PHASH_ENABLED": "true", "API_TOKEN": "abc"},
                                {"VISION_PHASH_ENABLED": "false", "API_TOKEN": "xyz", "NEW": "1"})
    assert envfile.describe(plan) == [
        "VISION_PHASH_ENABLED: true -> false", "API_TOKEN: ******** -> ********", "NEW: (unset) -> 1"]


def test_secret_keys_are_judged_by_the_words_of_their_name():
    assert envfile.is_secret("GIGACHAT_CLIENT_SECRET") and envfile.is_secret("S3_ACCESS_KEY_ID")
    assert envfile.is_secret("DATABASE_URL") and envfile.is_secret("API_TOKEN")
    assert not envfile.is_secret("VISION_MAX_OUTPUT_TOKENS") and not envfile.is_secret("VISION_PHASH_ENABLED")


def test_check_managed_refuses_values_unsafe_for_the_edit():
    for bad in ({"lower": "1"}, {"A": "x|y"}, {"A": "a b"}, {"A": "$(reboot)"}):
        try:
            envfile.check_managed(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
    envfile.check_managed({"VISION_PHASH_REDIS_PREFIX": "vision:phash"})
