"""What the vision worker's metrics and environment must show.

Before a rollback: no experiment of its waves still assigning (``active_experiments``). In the
verify stage: the run's effect (``judge``: environment, health, counters flat or moving, the
smoke event) and, after wave C's cleanup, the backlog at zero (``judge_cleanup``).
"""

from ... import metrics
from .request import EXPERIMENT_OF, VisionRequest

OCR_PRIMARY = 'vision_media_total{reason="ocr_primary"}'
TOKENS = "vision_tokens_estimated_total"
PREPROCESS = "vision_preprocess_total"
LOW_PRIORITY = "vision_low_priority_"
ASSIGNMENTS = "vision_experiment_assignments_total"


def active_experiments(baseline: dict[str, float], later: dict[str, float], request: VisionRequest) -> list[str]:
    """Experiments of the waves being rolled back whose assignment counter rose between the scrapes."""
    names = [EXPERIMENT_OF[wave] for wave in request.rolled_back if wave in EXPERIMENT_OF]
    return [name for name in names if metrics.delta(baseline, later, f'{ASSIGNMENTS}{{wave="{name}"}}') > 0]


MOVING = {"a": PREPROCESS, "b": OCR_PRIMARY, "tokens": TOKENS}  # the counter each wave makes move


def judge(request: VisionRequest, expected: dict[str, str]):
    """The checks of a run's effect (a function of the observation, for ``verify.verified``)."""

    def checks(seen) -> list[tuple[bool, str]]:
        window = request.verify_window
        running = seen.container or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result = [
            (seen.container is not None and not wrong,
             f"worker environment holds the {len(expected)} target values" if not wrong
             else f"worker environment differs: {', '.join(wrong)}"),
            (seen.health == 200, f"worker /health answers {seen.health}"),
        ]
        for wave, counter in MOVING.items():
            total = metrics.moved(seen.first, seen.second, counter)
            if wave in request.rolled_back:
                result.append((total == 0, f"{counter} flat over {window}s (+{total:g})"))
            elif wave in request.enabled:
                result.append((total > 0, f"{counter} moving over {window}s (+{total:g})"))
        if request.enabled:
            result.append((bool(seen.smoke_processed) and seen.smoke_pending == 0,
                           f"smoke event processed into post_enrichment: {seen.smoke_processed}, "
                           f"pending in the consumer group: {seen.smoke_pending}"))
        return result

    return checks


def judge_cleanup(seen) -> list[tuple[bool, str]]:
    """After wave C's cleanup: the low-priority counters and backlog at zero."""
    low = {name: value for name, value in metrics.matching(seen.second, LOW_PRIORITY).items() if value}
    return [(not low, "vision_low_priority_* at zero" if not low else f"vision_low_priority_* not zero: {low}")]
