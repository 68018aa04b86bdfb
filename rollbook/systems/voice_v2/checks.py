"""The runbook's post-rollback validation: ``judge(ctx)(seen)`` is one ``(ok, statement)`` per check, ``seen``
being ``facts.VoiceEffect``'s observation: GET /health, each level's own checks (``levels``) in level order,
then the checks every run shares (ProductionValidator, the STT and TTS pipelines, the TTS latency, the memory)."""

from ...host.verify import AfterStep, Decision
from ...pipeline import Context
from .levels import levels_of
from .request import KINDS

RUNBOOK = "runbook 003"
NEXT_LEVEL = ("if this level's rollback did not fix it, the next one: --data voice_level=2 (code), then 3 "
              "(container or virtualenv)")
# the runbook's emergency scenarios, as the checks meet them (``verify.decided``)
DECISIONS = (
    Decision(r"^ProductionValidator", f"{RUNBOOK}, Scenario 1: Critical Production Issues",
             "Provider connectivity issues", NEXT_LEVEL),
    Decision(r"^(STT|TTS) pipeline", f"{RUNBOOK}, Scenario 1: Critical Production Issues",
             "API response failures > 10%", NEXT_LEVEL),
    Decision(r"^TTS latency", f"{RUNBOOK}, Scenario 2: Performance Degradation", "Response time increase > 50%",
             NEXT_LEVEL),
    Decision(r"^service memory", f"{RUNBOOK}, Scenario 2: Performance Degradation", "Memory usage spike > 200%",
             NEXT_LEVEL),
    Decision(r"printed nothing", f"{RUNBOOK}, Scenario 3: Configuration Issues", "Missing dependencies",
             "the service's virtualenv cannot run the validation: level 3 restores it (--data voice_level=3)"),
)

AFTER = (f"{RUNBOOK}, Post-Rollback Checklist and Resolution Verification", (
    AfterStep("Run health checks on all components", r"^GET \S+ 200"),
    AfterStep("Verify functionality with test cases", r"^TTS pipeline: ok"),
    AfterStep("Check performance metrics against baseline", r"^TTS latency"),
    AfterStep("Monitor error rates and response times"),
    AfterStep("Notify stakeholders of rollback completion"),
    AfterStep("Create incident report with lessons learned (Root Cause, Lessons Learned, Action Items)"),
    AfterStep("Level 2, steps 3-4: revert upstream (git revert, push the rollback branch): rollbook restores this "
              "host's code, it pushes nothing"),
))


def p95(values: list[float]) -> float:
    """The runbook's 95th percentile: ``sorted(times)[int(len(times) * 0.95)]``."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)] if ordered else 0.0


def judge(ctx: Context):
    """The checks of this run's levels between the shared ones: ``judge(ctx)(seen)`` -> ``[(ok, statement)]``."""
    levels = levels_of(ctx.request)

    def checks(seen) -> list[tuple[bool, str]]:
        status, path = seen.health.get("status", ""), ctx.request.settings.health_path
        health = (seen.health_code == 200, f"GET {path} {seen.health_code or 'no answer'}"
                                           + (f" ({status})" if status else ""))
        return [health] + [check for level in levels for check in level.checks(ctx, seen)] + _validation(
            ctx.settings, seen)

    return checks


def _validation(settings, seen) -> list[tuple[bool, str]]:
    """What the runbook's validation printed (provider connectivity, the pipelines, the TTS latency), then the
    service's memory, against the runbook's baselines in the host's ``settings``."""
    report, result = seen.validation, []
    if not report:
        result.append((False, "the runbook's validation printed nothing (the service's virtualenv did not run it)"))
    else:
        failed = report.get("failed_providers")
        enabled = {kind: [name for name, entry in ((report.get("providers") or {}).get(kind) or {}).items()
                          if entry.get("enabled")] for kind in KINDS}
        ok = failed == [] and all(enabled.values())
        result.append((ok, "ProductionValidator: every enabled provider connected (" + "; ".join(
            f"{kind}: {', '.join(enabled[kind]) or 'none enabled'}" for kind in KINDS) + ")"
            + (f"; not connected: {', '.join(failed)}" if failed else "")
            + (f"; {report['connectivity_error']}" if report.get("connectivity_error") else "")))
        for kind in KINDS:
            answer = str(report.get(kind) or report.get("pipelines_error") or "not run")
            result.append((answer.startswith("ok"), f"{kind.upper()} pipeline: {answer}"))
        latencies = seen.latencies
        average = sum(latencies) / len(latencies) if latencies else 0.0
        most, most_p95 = settings.voice_latency_avg_seconds, settings.voice_latency_p95_seconds
        ok = bool(latencies) and not seen.latency_failures and average < most and p95(latencies) < most_p95
        result.append((ok, f"TTS latency over {len(latencies)} request(s): average {average:.3f}s "
                           f"(< {most:g}s), p95 {p95(latencies):.3f}s (< {most_p95:g}s)"
                           + (f", {seen.latency_failures} failed" if seen.latency_failures else "")))
    memory, most = seen.memory_mb, settings.voice_memory_limit_mb
    return result + [(memory is not None and memory < most,
                      f"service memory {memory if memory is not None else 'unknown'} MB (< {most:g} MB)")]
