"""The vision checks as data: active experiments before a rollback, the verification after it."""

from rollbook.host.verify import UNPROVEN
from rollbook.systems.vision.checks import active_experiments, judge, judge_cleanup
from rollbook.systems.vision.facts import VisionObservation
from rollbook.systems.vision.request import request_from
from rollbook.systems.vision.settings import VisionSettings

from ...harness import group_data, validated
from .test_request import request


def test_active_experiments_are_the_rising_counters_of_waves_in_scope():
    before = {'vision_experiment_assignments_total{wave="wave_b"}': 3,
              'vision_experiment_assignments_total{wave="wave_a"}': 3}
    after = {'vision_experiment_assignments_total{wave="wave_b"}': 5,
             'vision_experiment_assignments_total{wave="wave_a"}': 9}
    assert active_experiments(before, after, request(vision_waves="b")) == ["wave_b"]
    assert active_experiments(before, before, request()) == []


DEFAULTS = VisionSettings()  # the series the checks read, as the settings' defaults name them
PREPROCESS, OCR_PRIMARY, TOKENS = DEFAULTS.vision_counter_a, DEFAULTS.vision_counter_b, DEFAULTS.vision_counter_tokens
API = 'vision_media_total{reason="vision_api"}'  # traffic the rolled-back waves do not stop


def observation(container, health=200, first=None, second=None, smoke=(None, None, None)):
    return VisionObservation(container=container, health=health, first=first or {}, second=second or {},
                             smoke_processed=smoke[0], smoke_pending=smoke[1], smoke_removed=smoke[2])


def test_judge_passes_a_rolled_back_worker_with_flat_counters():
    made = request(vision_waves="b,c,tokens")
    expected = {"VISION_PHASH_ENABLED": "false"}
    flat = {OCR_PRIMARY: 5, TOKENS: 100, "vision_low_priority_backlog": 0}
    checks = judge(made, expected)(observation(dict(expected), first={**flat, API: 1}, second={**flat, API: 7}))
    assert all(ok for ok, _ in checks), checks


def test_flat_counters_without_traffic_or_a_failed_scrape_are_never_a_pass():
    """No traffic and no probe: unproven (neither a pass nor a failure); a probe sent but not processed:
    failed; in an enable as in a rollback."""
    flat = {OCR_PRIMARY: 5, API: 1}
    for made, want in ((request(vision_waves="b"), "flat"), (request("enabled", vision_waves="b"), "moving")):
        quiet = [(ok, text) for ok, text in judge(made, {})(observation({}, first=flat, second=flat)) if ok is not True]
        assert quiet == [(UNPROVEN, f"{OCR_PRIMARY} {want}: not proven: no traffic over 3s (vision_media_total did "
                                    "not move) and no probe (vision_probe is false)")]
        probed = observation({}, first=flat, second=flat, smoke=(False, 1, 0))
        assert [text for ok, text in judge(made, {})(probed) if ok is False and "traffic" in text] == \
            [f"{OCR_PRIMARY} {want}: no traffic over 3s (vision_media_total did not move), not even rollbook's "
             "probe: is the worker consuming its stream?"]
    made = request(vision_waves="b")
    scrape_failed = VisionObservation(container={}, health=200, first=None, second=None,
                                      smoke_processed=None, smoke_pending=None)
    assert [text for ok, text in judge(made, {})(scrape_failed) if not ok] == \
        ["the metrics scrape failed: counters not checked"]
    assert judge_cleanup(made)(scrape_failed)[0][0] is False
    assert active_experiments(None, None, request(vision_waves="b")) == ["unknown (the metrics scrape failed)"]


def test_judge_fails_on_old_env_and_moving_counters_and_the_cleanup_check_on_a_backlog():
    made = request(vision_waves="b,c")
    seen = observation({"VISION_PHASH_ENABLED": "true"}, health=502, first={OCR_PRIMARY: 5},
                       second={OCR_PRIMARY: 9, "vision_low_priority_backlog": 3})
    failed = [text for ok, text in judge(made, {"VISION_PHASH_ENABLED": "false"})(seen) if not ok]
    assert len(failed) == 3, failed
    assert any("VISION_PHASH_ENABLED='true'" in text for text in failed)
    assert judge_cleanup(made)(seen) == [(False, "vision_low_priority_* not zero: {'vision_low_priority_backlog': 3}")]
    assert judge_cleanup(made)(observation({}, second={"vision_low_priority_backlog": 0}))[0][0]


def test_judge_of_enable_needs_moving_counters_and_the_smoke_event():
    made = request("enabled", vision_waves="b")
    seen = observation({}, first={OCR_PRIMARY: 1}, second={OCR_PRIMARY: 1}, smoke=(False, 1, 0))
    failed = [text for ok, text in judge(made, {})(seen) if not ok]
    assert any("moving" in text for text in failed) and any("smoke" in text for text in failed)


def test_a_mixed_request_rolls_back_some_waves_and_enables_others():
    data = group_data("sandbox")
    made = request_from(validated(data), {"a": "enabled", "b": "rolled_back"})
    assert made.env["VISION_PREPROCESS_ENABLED"] == "true" and made.env["VISION_PHASH_ENABLED"] == "false"
    assert made.describe() == "b rolled back; a enabled"
    checks = judge(made, {})(observation({}, first={OCR_PRIMARY: 1, PREPROCESS: 1, API: 1},
                                         second={OCR_PRIMARY: 1, PREPROCESS: 4, API: 2},
                                         smoke=(True, 0, 1)))
    assert all(ok for ok, _ in checks), checks


def test_the_smoke_event_must_be_processed_released_and_its_row_removed():
    made = request("enabled")
    judge_of = judge(made, {})
    passed = [text for ok, text in judge_of(observation({}, smoke=(True, 0, 1))) if "smoke" in text and ok]
    assert passed == ["smoke event processed into post_enrichment: True, its own message pending in the consumer "
                      "group: no", "smoke event's synthetic post_enrichment row removed: 1"]
    still = [text for ok, text in judge_of(observation({}, smoke=(True, 1, 0))) if "smoke" in text and not ok]
    assert still == ["smoke event processed into post_enrichment: True, its own message pending in the consumer "
                     "group: yes", "smoke event's synthetic post_enrichment row removed: 0"]


def test_a_rollback_s_probe_is_traffic_and_its_row_must_be_gone():
    """The probe's own media item is the traffic on a quiet night; a probe that could not be sent (Redis
    down) adds no check of its own — the counters decide, with whatever traffic there was."""
    made = request(vision_waves="b")
    flat = {OCR_PRIMARY: 5, API: 1}
    probed = {OCR_PRIMARY: 5, API: 2}
    checks = judge(made, {})(observation({}, first=flat, second=probed, smoke=(True, 0, 1)))
    assert all(ok for ok, _ in checks), checks
    assert (True, "the probe's synthetic post_enrichment row removed: 1") in checks
    left = judge(made, {})(observation({}, first=flat, second=probed, smoke=(True, 0, 0)))
    assert [text for ok, text in left if not ok] == ["the probe's synthetic post_enrichment row removed: 0"]
    unsent = judge(made, {})(observation({}, first=flat, second={OCR_PRIMARY: 5, API: 9}, smoke=(False, None, None)))
    assert all(ok for ok, _ in unsent) and not [text for _, text in unsent if "probe" in text or "smoke" in text]


def test_the_checks_read_the_series_the_settings_name():
    """A worker whose metrics are named otherwise: the names come from data, the checks follow them."""
    made = request(vision_waves="b,c", vision_counter_b="worker_ocr_items_total", vision_counter_traffic="worker_items",
                   vision_low_priority_metrics="worker_low_", vision_counter_assignments="worker_assignments_total")
    checks = judge(made, {})(observation({}, first={"worker_ocr_items_total": 5, "worker_items": 1},
                                         second={"worker_ocr_items_total": 5, "worker_items": 4}))
    assert (True, "worker_ocr_items_total flat over 3s (+0) with traffic (+3 worker_items)") in checks
    assert judge_cleanup(made)(observation({}, second={"worker_low_backlog": 2, "vision_low_priority_x": 0})) == \
        [(False, "worker_low_* not zero: {'worker_low_backlog': 2}")]
    rising = ({'worker_assignments_total{wave="wave_b"}': 1}, {'worker_assignments_total{wave="wave_b"}': 2})
    assert active_experiments(*rising, made) == ["wave_b"]


def test_each_failure_carries_the_runbook_s_monitoring_words():
    """Runbook 000's monitoring section, in its words, after the failed checks it applies to; every entry
    of the table meets a failure of the judges."""
    from rollbook.host.verify import decided
    from rollbook.systems.vision.checks import DECISIONS

    made = request(vision_waves="b,c")
    seen = observation({"VISION_PHASH_ENABLED": "true"}, first={OCR_PRIMARY: 5, API: 1},
                       second={OCR_PRIMARY: 9, API: 3, "vision_low_priority_backlog": 3})
    checks = judge(made, {"VISION_PHASH_ENABLED": "false"})(seen) + judge_cleanup(made)(seen)
    said = [statement for ok, statement in decided(checks, DECISIONS) if ok is False]
    assert [decision.words for decision in DECISIONS if not any(decision.said() in text for text in said)] == []
    assert any(text.startswith(f"{OCR_PRIMARY} flat over 3s (+4)") and "возвращается к 0" in text for text in said)
