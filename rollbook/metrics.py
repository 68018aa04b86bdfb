"""Prometheus text format: parse a scrape, and compare two scrapes.

Example::

    >>> before = parse('vision_media_total{reason="ocr_primary"} 5')
    >>> after = parse('vision_media_total{reason="ocr_primary"} 9')
    >>> delta(before, after, 'vision_media_total{reason="ocr_primary"}')
    4.0
"""


def parse(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` for each sample line (comments and junk skipped)."""
    samples = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            samples[name] = float(value)
        except ValueError:
            continue
    return samples


def delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def matching(samples: dict[str, float], prefix: str) -> dict[str, float]:
    return {name: value for name, value in samples.items() if name.startswith(prefix)}


def moved(before: dict[str, float], after: dict[str, float], selector: str) -> float:
    """How much the samples named ``selector`` rose: an exact sample, or every label set of a name.

    >>> moved({'m{a="1"}': 1, 'm{a="2"}': 1}, {'m{a="1"}': 3, 'm{a="2"}': 2}, "m")
    3.0
    """
    names = [name for name in after if name == selector or name.startswith(selector + "{")]
    return float(sum(delta(before, after, name) for name in names))
