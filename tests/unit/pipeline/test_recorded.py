"""What a run records of its data, and what a drift correction compares (rollbook.pipeline.recorded)."""

from rollbook.pipeline import recorded


def test_a_run_records_digests_of_its_systems_shaping_keys_less_its_data_overrides():
    keys = recorded.shaping_keys("vision", {"vision_waves": "b"})
    assert "vision_enabled_values" in keys and "vision_service" in keys
    assert "vision_waves" not in keys  # set by --data: its approval bound it
    assert not {key for key in keys if key.startswith("rollbook_")}  # security and the pipeline's, checked apart
    assert not {key for key in keys if key.startswith(("analyticbot_", "voice_", "phase17_"))}


def test_digests_never_hold_a_value():
    digests = recorded.digests({"vision_service": "worker", "vision_s3_bucket": "b"}, {"vision_service"})
    assert list(digests) == ["vision_service"] and digests["vision_service"].startswith("sha256:")
    assert "worker" not in digests["vision_service"]


def test_a_changed_or_removed_value_is_named_and_an_unchanged_one_is_not():
    before = recorded.digests({"vision_service": "worker", "vision_scan_batch": 500}, {"vision_service", "vision_scan_batch"})
    assert recorded.changed(before, {"vision_service": "worker", "vision_scan_batch": 500}) == []
    assert recorded.changed(before, {"vision_service": "other", "vision_scan_batch": 500}) == ["vision_service"]
    assert recorded.changed(before, {"vision_service": "worker"}) == ["vision_scan_batch"]


def test_the_state_files_data_is_read_per_system_and_garbage_reads_as_none():
    state = {"vision": {"units": {"b": "rolled_back"}, "data": {"vision_service": "sha256:ab"}}, "phase17": {}}
    assert recorded.of(state, "vision") == {"vision_service": "sha256:ab"}
    assert recorded.of(state, "phase17") == {} and recorded.of(state, "voice_v2") == {}
    assert recorded.of([], "vision") == {} and recorded.of({"vision": {"data": "x"}}, "vision") == {}
    assert recorded.RecordedData().process(["not json"]) == {}
