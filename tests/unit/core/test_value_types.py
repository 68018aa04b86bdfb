"""The value types every settings model shares: strict booleans, text pyinfra's --data did not change,
whole numbers that are not booleans, flag values as env files spell them."""

import pytest

from rollbook.core.loader import HostSettings
from rollbook.core.preflight import PreflightError
from rollbook.core.schema import strict_flag
from rollbook.systems.settings_types import flag_value


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (1, True), (0, False), ("true", True), ("False", False), ("yes", True),
    ("NO", False), ("on", True), ("off", False), ("1", True), ("0", False), (" yes ", True)])
def test_a_boolean_is_one_of_the_eight_spellings(value, expected):
    assert strict_flag(value) is expected


@pytest.mark.parametrize("value", ["maybe", "y", "n", "t", "f", "", 2, -1, 1.0, None, [], "enabled"])
def test_anything_else_is_not_a_boolean(value):
    with pytest.raises(ValueError, match="Input should be a valid boolean"):
        strict_flag(value)


def test_no_means_false_for_every_boolean_key():
    settings = HostSettings.validated({"rollbook_converge_declared": "no", "rollbook_takeover": "off",
                                       "vision_purge_s3_cache": "0", "voice_recover_files": "false"})
    assert not (settings.rollbook_converge_declared or settings.rollbook_takeover or settings.vision_purge_s3_cache
                or settings.voice_recover_files)
    with pytest.raises(PreflightError, match="rollbook_converge_declared: Input should be a valid boolean"):
        HostSettings.validated({"rollbook_converge_declared": "sometimes"})


@pytest.mark.parametrize("key, value", [("vision_s3_bucket", 1.1), ("voice_previous_image_tag", 1.1),
                                        ("analyticbot_channel", 10.5)])
def test_a_number_pyinfra_parsed_from_text_is_refused_for_a_text_key(key, value):
    with pytest.raises(PreflightError, match=f"{key}: Value error, the number {value} where text is expected"):
        HostSettings.validated({key: value})


def test_a_whole_number_is_read_back_as_its_text_for_a_text_key():
    assert HostSettings.validated({"analyticbot_channel": 1001}).analyticbot_channel == "1001"


@pytest.mark.parametrize("key", ["rollbook_lock_ttl", "vision_scan_batch", "rollbook_fail_percent"])
def test_a_boolean_is_not_a_number(key):
    with pytest.raises(PreflightError, match=key):
        HostSettings.validated({key: True})


def test_flag_values_are_spelled_as_env_files_spell_them():
    assert flag_value(True, bool, "k") == "true" and flag_value("no", bool, "k") == "false"
    assert flag_value("512", int, "k") == "512" and flag_value("vision:phash", str, "k") == "vision:phash"
    with pytest.raises(ValueError, match="k: 'a b' holds characters"):
        flag_value("a b", str, "k")
    with pytest.raises(ValueError, match="k: '-1' is not a positive whole number"):
        flag_value("-1", int, "k")
    with pytest.raises(ValueError, match="k: 'maybe' is not a boolean"):
        flag_value("maybe", bool, "k")
