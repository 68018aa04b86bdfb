"""The runbook's post-rollback validation, plus the level's own effect: ``judge(request, ...)(seen)`` is
one ``(ok, statement)`` per check, ``seen`` being ``facts.VoiceEffect``'s observation."""

from ...host import envfile
from .request import KINDS, VoiceRequest


def p95(values: list[float]) -> float:
    """The runbook's 95th percentile: ``sorted(times)[int(len(times) * 0.95)]``."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)] if ordered else 0.0


def _settings(providers: dict) -> dict:
    return {kind: {name: {"enabled": bool(entry.get("enabled")), "priority": entry.get("priority")}
                   for name, entry in (providers.get(kind) or {}).items()} for kind in KINDS}


def judge(request: VoiceRequest, expected_env: dict[str, str], expected_providers: dict | None,
          code: tuple[str, str] | None, public=(), venv: bool = False):
    """The runbook's post-rollback validation, plus the level's own effect; values of env keys not in
    ``public`` show as ``***`` (values from ``.env.previous`` arrive as ``<hidden ...>`` digests, and
    compare as such). ``code``: the code tree's and requirements' target hashes (level 2); ``venv``: the
    virtualenv must be its backup copy (level 3 on systemd hosts)."""

    def checks(seen) -> list[tuple[bool, str]]:
        status = seen.health.get("status", "")
        result = [(seen.health_code == 200, f"GET /health {seen.health_code or 'no answer'}"
                                            + (f" ({status})" if status else ""))]
        running = seen.running or {}
        wrong = [f"{key}={envfile.shown(key, running.get(key), public)} (want {envfile.shown(key, value, public)})"
                 for key, value in expected_env.items() if running.get(key) != value]
        if expected_env:
            result.append((seen.running is not None and not wrong,
                           f"process environment holds the {len(expected_env)} target values" if not wrong
                           else f"process environment differs: {', '.join(wrong)}"))
        report = seen.validation
        if expected_providers is not None:
            shown, want = _settings(report.get("providers") or {}), _settings(expected_providers)
            result.append((shown == want, "the app reads the target provider settings" if shown == want
                           else f"the app reads other provider settings: {report.get('providers_error') or shown}"))
            fresh = seen.running is not None and seen.providers_changed <= seen.started
            result.append((fresh, "the service started after the provider settings last changed" if fresh
                           else "the service started before the provider settings last changed"))
        if code is not None or venv:
            on_disk, problems = seen.code, []
            if code is not None:
                tree, requirements = code
                if on_disk.get("tree") != tree:
                    problems.append(f"code tree {on_disk.get('tree', '?')[:12]} (want {tree[:12]})")
                if on_disk.get("installed") != requirements:
                    problems.append(f"installed requirements {on_disk.get('installed', '?')[:12]} "
                                    f"(want {requirements[:12]})")
            if venv and (not on_disk.get("venv") or on_disk.get("venv") != on_disk.get("backup")):
                problems.append("the virtualenv is not its backup copy")
            changed = float(on_disk.get("changed") or 0)
            if seen.running is None or changed > seen.started:
                problems.append("the service started before its code, requirements or virtualenv last changed")
            what = " and ".join(name for name, checked in (("code", code is not None), ("virtualenv", venv)) if checked)
            result.append((not problems, f"the service runs the target {what}, started after it last changed"
                           if not problems else "; ".join(problems)))
        if seen.image is not None:
            ok = bool(seen.image.target_id) and seen.image.running_id == seen.image.target_id
            result.append((ok, f"container runs {request.settings.image}:{request.image_tag} "
                               f"({seen.image.running_id[:19] or 'nothing'})"
                               + ("" if ok else f", want {seen.image.target_id[:19] or 'a present image'}")))
        if not report:
            result.append((False, "the runbook's validation printed nothing (the service's virtualenv did not run it)"))
            return result + _memory(request, seen)
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
        ok = bool(latencies) and not seen.latency_failures and average < request.latency_avg \
            and p95(latencies) < request.latency_p95
        result.append((ok, f"TTS latency over {len(latencies)} request(s): average {average:.3f}s "
                           f"(< {request.latency_avg:g}s), p95 {p95(latencies):.3f}s (< {request.latency_p95:g}s)"
                           + (f", {seen.latency_failures} failed" if seen.latency_failures else "")))
        return result + _memory(request, seen)

    return checks


def _memory(request: VoiceRequest, seen) -> list[tuple[bool, str]]:
    memory = seen.memory_mb
    return [(memory is not None and memory < request.memory_mb,
             f"service memory {memory if memory is not None else 'unknown'} MB (< {request.memory_mb:g} MB)")]
