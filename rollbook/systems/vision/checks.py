"""What the vision worker's metrics and environment must show: before a rollback, no experiment of its
waves still assigning; after it, the run's effect and, after wave C's cleanup, the backlog at zero."""

from ...core import metrics
from .request import EXPERIMENT_OF, VisionRequest

OCR_PRIMARY = 'vision_media_total{reason="ocr_primary"}'
TOKENS = "vision_tokens_estimated_total"
PREPROCESS = "vision_preprocess_total"
LOW_PRIORITY = "vision_low_priority_"
ASSIGNMENTS = "vision_experiment_assignments_total"
MOVING = {"a": PREPROCESS, "b": OCR_PRIMARY, "tokens": TOKENS}  # the counter each wave makes move
TRAFFIC = "vision_media_total"  # every processed item, whatever the waves: shows there was traffic
PENDING = {0: "no", 1: "yes"}  # the smoke event's own message in XPENDING


def active_experiments(baseline: dict[str, float] | None, later: dict[str, float] | None,
                       request: VisionRequest) -> list[str]:
    """Experiments of the waves being rolled back whose assignment counter rose between the scrapes
    (a failed scrape cannot tell: it is reported as such, never as "none active")."""
    names = [EXPERIMENT_OF[wave] for wave in request.rolled_back if wave in EXPERIMENT_OF]
    if names and (baseline is None or later is None):
        return ["unknown (the metrics scrape failed)"]
    return [name for name in names if metrics.delta(baseline, later, f'{ASSIGNMENTS}{{wave="{name}"}}') > 0]


def judge(request: VisionRequest, expected: dict[str, str]):
    """The checks of a run's effect (a function of the observation, for ``verify.verified``)."""

    def checks(seen) -> list[tuple[bool, str]]:
        window, places = request.verify_window, request.settings
        running = seen.container or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result = [
            (seen.container is not None and not wrong,
             f"worker environment holds the {len(expected)} target values" if not wrong
             else f"worker environment differs: {', '.join(wrong)}"),
            (seen.health == 200, f"worker {places.ready_url} answers {seen.health}" + (
                f": the worker does not serve it; is {places.ready_setting} right?" if seen.health == 404 else "")),
        ]
        if seen.first is None or seen.second is None:
            result.append((False, "the metrics scrape failed: counters not checked"))
        else:
            traffic = metrics.moved(seen.first, seen.second, TRAFFIC)
            for wave, counter in MOVING.items():
                total = metrics.moved(seen.first, seen.second, counter)
                if wave in request.rolled_back and traffic <= 0:
                    result.append((False, f"{counter} flat: not proven (no traffic: {TRAFFIC} did not move "
                                          f"over {window}s, and no probe moved it)"))
                elif wave in request.rolled_back:
                    result.append((total == 0, f"{counter} flat over {window}s (+{total:g}) with traffic "
                                               f"(+{traffic:g} {TRAFFIC})"))
                elif wave in request.enabled:
                    result.append((total > 0, f"{counter} moving over {window}s (+{total:g})"))
        if seen.smoke_processed is not None and request.enabled:  # runbook 001's smoke test (vision_probe)
            result.append((bool(seen.smoke_processed) and seen.smoke_pending == 0,
                           f"smoke event processed into post_enrichment: {seen.smoke_processed}, its own message "
                           f"pending in the consumer group: {PENDING.get(seen.smoke_pending, 'unknown')}"))
            result.append((bool(seen.smoke_removed), f"smoke event's synthetic post_enrichment row removed: "
                           f"{seen.smoke_removed if seen.smoke_removed is not None else 'unknown'}"))
        elif seen.smoke_processed:  # a rollback's probe is traffic; once processed, its row must be gone
            result.append((bool(seen.smoke_removed), f"the probe's synthetic post_enrichment row removed: "
                           f"{seen.smoke_removed if seen.smoke_removed is not None else 'unknown'}"))
        return result

    return checks


def judge_cleanup(seen) -> list[tuple[bool, str]]:
    """After wave C's cleanup: the low-priority counters and backlog at zero."""
    if seen.second is None:
        return [(False, "the metrics scrape failed: the backlog is not checked")]
    low = {name: value for name, value in metrics.matching(seen.second, LOW_PRIORITY).items() if value}
    return [(not low, "vision_low_priority_* at zero" if not low else f"vision_low_priority_* not zero: {low}")]
