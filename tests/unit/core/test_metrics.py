"""Prometheus scrapes read with prometheus_client's parser: timestamps, label order, bad scrapes."""

import pytest

from rollbook.core import metrics

SCRAPE = """# HELP vision_media_total media
# TYPE vision_media_total counter
vision_media_total{reason="ocr_primary"} 5
vision_media_total{reason="vision_api"} 2
vision_tokens_estimated_total 1.5e3
"""


def test_parse_reads_samples_and_skips_comments():
    assert metrics.parse(SCRAPE) == {'vision_media_total{reason="ocr_primary"}': 5.0,
                                     'vision_media_total{reason="vision_api"}': 2.0,
                                     "vision_tokens_estimated_total": 1500.0}


def test_moved_sums_every_label_set_or_one_exact_sample():
    before = metrics.parse(SCRAPE)
    after = dict(before, **{'vision_media_total{reason="ocr_primary"}': 9.0, 'vision_media_total{reason="vision_api"}': 3.0})
    assert metrics.moved(before, after, "vision_media_total") == 5.0
    assert metrics.moved(before, after, 'vision_media_total{reason="ocr_primary"}') == 4.0
    assert metrics.moved(before, after, "vision_tokens_estimated_total") == 0.0


def test_a_sample_with_a_timestamp_is_read_as_its_value():
    """The old parser took the timestamp for the value: a counter that moved read as flat."""
    before = metrics.parse('vision_tokens_estimated_total 10 1700000000000\n')
    after = metrics.parse('vision_tokens_estimated_total 25 1700000000000\n')
    assert before == {"vision_tokens_estimated_total": 10.0}
    assert metrics.moved(before, after, "vision_tokens_estimated_total") == 15.0


def test_reordered_labels_are_the_same_sample():
    before = metrics.parse('m_total{wave="wave_b",tenant="t1"} 1\n')
    after = metrics.parse('m_total{tenant="t1",wave="wave_b"} 4\n')
    assert metrics.delta(before, after, 'm_total{wave="wave_b",tenant="t1"}') == 3.0
    assert metrics.delta(before, after, 'm_total{tenant="t1",wave="wave_b"}') == 3.0


@pytest.mark.parametrize("text", ["", "garbage line\n", "<html>502 Bad Gateway</html>"])
def test_a_failed_scrape_is_none_never_an_empty_pass(text):
    assert metrics.read_scrape(text) is None
