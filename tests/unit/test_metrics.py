from rollbook import metrics

SCRAPE = """# HELP x
vision_media_total{reason="ocr_primary"} 5
vision_media_total{reason="vision_api"} 2
vision_tokens_estimated_total 1.5e3
garbage line
"""


def test_parse_reads_samples_and_skips_comments_and_junk():
    assert metrics.parse(SCRAPE) == {'vision_media_total{reason="ocr_primary"}': 5.0,
                                     'vision_media_total{reason="vision_api"}': 2.0,
                                     "vision_tokens_estimated_total": 1500.0}


def test_moved_sums_every_label_set_or_one_exact_sample():
    before = metrics.parse(SCRAPE)
    after = dict(before, **{'vision_media_total{reason="ocr_primary"}': 9.0, 'vision_media_total{reason="vision_api"}': 3.0})
    assert metrics.moved(before, after, "vision_media_total") == 5.0
    assert metrics.moved(before, after, 'vision_media_total{reason="ocr_primary"}') == 4.0
    assert metrics.moved(before, after, "vision_tokens_estimated_total") == 0.0
