"""What the vision worker's metrics and environment must show: before a rollback, no experiment of its
waves still assigning; after it, the run's effect and, after wave C's cleanup, the backlog at zero."""

from ...core import metrics
from ...host.verify import UNPROVEN, AfterStep, Decision
from .request import EXPERIMENT_OF, VisionRequest

PENDING = {0: "no", 1: "yes"}  # the smoke event's own message in XPENDING
ORDER = "runbook 000, 3. Мониторинг"
# the runbook's monitoring section, as the checks meet it (``verify.decided``)
DECISIONS = (
    Decision(r"^worker environment differs", ORDER, "Выключить фич-флаг → перезапустить worker",
             "the worker runs without the new env file: a re-run recreates it"),
    Decision(r" flat over ", ORDER, "`vision_media_total{reason=\"ocr_primary\"}` возвращается к 0, если OCR "
             "отключён", "the worker still does the wave's work: compare its environment (docker inspect) with "
             ".env, and look for another worker consuming the stream"),
    Decision(r"\* not zero", ORDER, "`vision_low_priority_*` остаются нулевыми после очистки очереди",
             "a re-run trims the stream again (its entries saved first); a backlog that grows means a producer "
             "still writes to it"),
)

AFTER = (ORDER, (
    AfterStep("Зафиксировать текущие метрики (export_vision_baseline.py)"),
    AfterStep("Выключить фич-флаг → перезапустить worker", r"^worker environment holds"),
    AfterStep("Очистить связанные артефакты (Redis stream/caches)", r"^\S+\* at zero"),
    AfterStep("Проверить метрики/логи", r" flat over | moving over "),
))


def active_experiments(baseline: dict[str, float] | None, later: dict[str, float] | None,
                       request: VisionRequest) -> list[str]:
    """Experiments of the waves being rolled back whose assignment counter rose between the scrapes
    (a failed scrape cannot tell: it is reported as such, never as "none active")."""
    names = [EXPERIMENT_OF[wave] for wave in request.rolled_back if wave in EXPERIMENT_OF]
    if names and (baseline is None or later is None):
        return ["unknown (the metrics scrape failed)"]
    counter = request.counters.counter_assignments
    return [name for name in names if metrics.delta(baseline, later, f'{counter}{{wave="{name}"}}') > 0]


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
            named = request.counters.counter_traffic
            traffic = metrics.moved(seen.first, seen.second, named)
            for wave, counter in request.counters.moving.items():
                total = metrics.moved(seen.first, seen.second, counter)
                if traffic <= 0 and (wave in request.rolled_back or wave in request.enabled):
                    result.append(without_traffic(counter, "flat" if wave in request.rolled_back else "moving",
                                                  window, named, probed=seen.smoke_processed is not None))
                elif wave in request.rolled_back:
                    result.append((total == 0, f"{counter} flat over {window}s (+{total:g}) with traffic "
                                               f"(+{traffic:g} {named})"))
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


def without_traffic(counter: str, want: str, window: int, traffic: str, probed: bool) -> tuple[bool | None, str]:
    """A counter's check when no media item was processed between the scrapes (``traffic`` did not move):
    failed when rollbook's probe was sent (the worker did not process it), else unproven (``vision_probe``
    false: nothing could make traffic)::

        >>> without_traffic("vision_preprocess_total", "flat", 3, "vision_media_total", probed=False)[0] is UNPROVEN
        True
    """
    if probed:
        return False, (f"{counter} {want}: no traffic over {window}s ({traffic} did not move), not even "
                       "rollbook's probe: is the worker consuming its stream?")
    return UNPROVEN, (f"{counter} {want}: not proven: no traffic over {window}s ({traffic} did not move) and no "
                      "probe (vision_probe is false)")


def judge_cleanup(request: VisionRequest):
    """After wave C's cleanup: the low-priority counters and backlog at zero (a function of the observation)."""
    prefix = request.counters.low_priority_metrics

    def checks(seen) -> list[tuple[bool, str]]:
        if seen.second is None:
            return [(False, "the metrics scrape failed: the backlog is not checked")]
        low = {name: value for name, value in metrics.matching(seen.second, prefix).items() if value}
        return [(not low, f"{prefix}* at zero" if not low else f"{prefix}* not zero: {low}")]

    return checks
