"""Prometheus text format: parse a scrape (``prometheus_client``'s parser), compare two scrapes. Samples are
keyed ``name{label="value",...}``, labels sorted, so a selector matches whatever order the exporter uses::

    >>> before = parse('vision_media_total{reason="ocr_primary"} 5 1700000000000')
    >>> after = parse('vision_media_total{reason="ocr_primary"} 9 1700000005000')
    >>> delta(before, after, 'vision_media_total{reason="ocr_primary"}')
    4.0
"""

import re

from prometheus_client.parser import text_string_to_metric_families

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def key(name: str, labels: dict[str, str]) -> str:
    """The canonical key of a sample: its labels sorted by name."""
    if not labels:
        return name
    return name + "{" + ",".join(f'{label}="{value}"' for label, value in sorted(labels.items())) + "}"


def canonical(selector: str) -> str:
    """``selector`` (``name`` or ``name{a="1",b="2"}``) with its labels in sorted order."""
    name, brace, rest = selector.partition("{")
    return key(name, dict(_LABEL.findall(rest))) if brace else selector


def parse(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` for each sample; a scrape that is not Prometheus text raises ValueError."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[key(sample.name, sample.labels)] = float(sample.value)
    return samples


def delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    name = canonical(name)
    return after.get(name, 0.0) - before.get(name, 0.0)


def matching(samples: dict[str, float], prefix: str) -> dict[str, float]:
    return {name: value for name, value in samples.items() if name.startswith(prefix)}


def moved(before: dict[str, float], after: dict[str, float], selector: str) -> float:
    """How much the samples named ``selector`` (a sample, or every label set of a name) rose::

        >>> moved({'m{a="1"}': 1, 'm{a="2"}': 1}, {'m{a="1"}': 3, 'm{a="2"}': 2}, "m")
        3.0
    """
    selector = canonical(selector)
    names = [name for name in after if name == selector or name.startswith(selector + "{")]
    return float(sum(delta(before, after, name) for name in names))


def read_scrape(text: str) -> dict[str, float] | None:
    """The samples of a scrape; None when it failed (empty, or not Prometheus text)."""
    if not text.strip():
        return None
    try:
        samples = parse(text)
    except ValueError:
        return None
    return samples or None
