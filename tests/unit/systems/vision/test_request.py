"""The vision request as data: validation, desired state, experiments, expected env, approval scope."""

import pytest
import yaml

from rollbook.core.preflight import PreflightError
from rollbook.systems.vision import cleanups
from rollbook.systems.vision import request as vision

from ...harness import group_data, validated


def request(target="rolled_back", env="sandbox", **overrides):
    data = {**group_data(env), **overrides}
    desired, _ = vision.desired_state(validated(data), target, {})
    return vision.request_from(validated(data), desired)


def test_a_partial_rollback_converges_only_its_waves_and_the_poc_flag():
    made = request(vision_waves="b")
    assert made.waves == ("b",) and made.rolled_back == ("b",) and made.enabled == ()
    assert made.env == {"VISION_LOCAL_OCR_PRIMARY_ENABLED": "false", "VISION_PHASH_ENABLED": "false",
                        "FEATURE_VISION_COMPRESSION_POC": "false"}
    assert made.experiments == {"wave_b": vision.CONTROL}


def test_enable_takes_the_runbook_recommended_values_from_group_data():
    made = request("enabled")
    assert made.env["VISION_MAX_OUTPUT_TOKENS"] == "512"
    assert made.env["VISION_PHASH_REDIS_PREFIX"] == "vision:phash"
    assert made.env["VISION_LOW_PRIORITY_STREAM"] == "stream:posts:vision:low"
    assert set(made.experiments) == {"wave_a", "wave_b", "wave_c"}


@pytest.mark.parametrize("overrides, cause", [
    ({"vision_waves": "d"}, "vision_waves: Value error, unknown 'd'"),
    ({"vision_compression_poc": "maybe"}, "vision_compression_poc: Input should be a valid boolean"),
    ({"vision_rolled_back_values": {"b": {"VISION_PHASH_ENABLED": "nope"}}}, "is not a boolean"),
    ({"vision_rolled_back_values": {"b": {"VISION_ROI_CROP_ENABLED": "false"}}}, "is not a wave b flag"),
    ({"vision_verify_window": 0}, "vision_verify_window: Input should be greater than 0"),
])
def test_bad_data_is_refused_naming_the_key(overrides, cause):
    with pytest.raises(PreflightError, match=cause.replace("(", r"\(")):
        request(**overrides)


def test_prod_refuses_the_compression_poc():
    with pytest.raises(PreflightError, match="FEATURE_VISION_COMPRESSION_POC stays false in prod"):
        request(env="prod", vision_compression_poc="true")
    assert request(env="staging", vision_compression_poc="true").env["FEATURE_VISION_COMPRESSION_POC"] == "true"


def test_experiments_keep_other_waves_and_control_the_rolled_back_one():
    current = "wave_a:\n  enabled: true\n  default_variant: treatment\n  force_tenants: [t1]\nextra: {x: 1}\n"
    text = vision.experiments_text(current, request(vision_waves="a"), "h:f")
    assert yaml.safe_load(text) == {"wave_a": vision.CONTROL, "extra": {"x": 1}}
    again = vision.experiments_text(text, request(vision_waves="a"), "h:f")
    assert again == text
    with pytest.raises(PreflightError, match="h:f is not valid YAML"):
        vision.experiments_text("a: [", request(), "h:f")


def test_the_worker_must_hold_the_file_as_the_run_leaves_it():
    expected = vision.expected_container_env({"VISION_PHASH_ENABLED": "true", "VISION_ROI_CROP_ENABLED": "true"},
                                             request(vision_waves="b"))
    assert expected["VISION_PHASH_ENABLED"] == "false" and expected["VISION_ROI_CROP_ENABLED"] == "true"


def test_converge_takes_recorded_waves_and_declares_the_rest():
    data = group_data("sandbox")
    desired, from_record = vision.desired_state(validated(data), None, {"b": "rolled_back", "zz": "enabled"})
    assert desired == {"a": "enabled", "b": "rolled_back", "c": "enabled", "tokens": "enabled"}
    assert from_record is False
    everything = {"a": "rolled_back", "b": "rolled_back", "c": "enabled", "tokens": "enabled"}
    assert vision.desired_state(validated(data), None, everything) == (everything, True)


def test_the_approval_scope_is_the_waves_and_the_options():
    data = {**group_data("prod"), "vision_waves": "tokens,b"}
    assert vision.scope_of(validated(data)) == {"vision_waves": "b,tokens", "vision_compression_poc": "false",
                                     "vision_ignore_experiments": "false", "vision_purge_s3_cache": "false",
                                     "vision_strip_context": "false"}


def test_rollback_options_are_validated_and_only_honoured_when_asked():
    data = {**group_data("sandbox"), "vision_strip_context": "true"}
    assert vision.request_from(validated(data), {"b": "rolled_back"}).strip_context is True
    assert vision.request_from(validated(data), {"b": "rolled_back"}, options=False).strip_context is False
    with pytest.raises(PreflightError, match="vision_purge_s3_cache: Input should be a valid boolean"):
        vision.request_from(validated({**data, "vision_purge_s3_cache": "sometimes"}), {"b": "rolled_back"})
    sql = cleanups.strip_context_sql("t")
    assert sql.index("CREATE TABLE t AS SELECT post_id") < sql.index("UPDATE post_enrichment")
