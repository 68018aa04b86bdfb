"""The runbook's post-rollback validation, plus the level's own effect (``judge``): ``/health``,
the process environment and provider settings, the running code or image, every enabled provider
connected, STT and TTS smoke requests, TTS latency (average and ``p95``) and memory."""

from ...host import envfile
from .request import KINDS, VoiceRequest


def p95(values: list[float]) -> float:
    """The runbook's 95th percentile: ``sorted(times)[int(len(times) * 0.95)]``."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)] if ordered else 0.0


def judge(request: VoiceRequest, expected_env: dict[str, str], expected_providers: dict | None,
          code: tuple[str, str] | None, public=()):
    """The runbook's post-rollback validation, plus the level's own effect; values of env keys not in
    ``public`` show as ``***`` (values from ``.env.previous`` arrive as ``<hidden ...>`` digests, and
    compare as such)."""

    def checks(seen) -> list[tuple[bool, str]]:
        status = seen.health.get("status")
        result = [(seen.health_code == 200 and status == "healthy", f"/health {seen.health_code} {status}")]
        running = seen.running or {}
        wrong = [f"{key}={envfile.shown(key, running.get(key), public)} (want {envfile.shown(key, value, public)})"
                 for key, value in expected_env.items() if running.get(key) != value]
        if expected_env:
            result.append((seen.running is not None and not wrong,
                           f"process environment holds the {len(expected_env)} target values" if not wrong
                           else f"process environment differs: {', '.join(wrong)}"))
        if expected_providers is not None:
            shown = {kind: {name: {"enabled": entry.get("enabled"), "priority": entry.get("priority")}
                            for name, entry in (seen.providers.get(kind) or {}).items()} for kind in KINDS}
            want = {kind: {name: {"enabled": entry.get("enabled"), "priority": entry.get("priority")}
                           for name, entry in expected_providers[kind].items()} for kind in KINDS}
            result.append((shown == want, "service reads the target provider settings" if shown == want
                           else f"service reads other provider settings: {shown}"))
        if code is not None:
            tree, requirements = code
            ok = seen.health.get("code") == tree and seen.health.get("requirements") == requirements
            result.append((ok, f"running code {str(seen.health.get('code'))[:12]} and requirements "
                               f"{str(seen.health.get('requirements'))[:12]}"
                               + ("" if ok else f" (want {tree[:12]} and {requirements[:12]})")))
        if seen.image is not None:
            ok = bool(seen.image.target_id) and seen.image.running_id == seen.image.target_id
            result.append((ok, f"container runs {request.settings.image}:{request.image_tag} "
                               f"({seen.image.running_id[:19] or 'nothing'})"
                               + ("" if ok else f", want {seen.image.target_id[:19] or 'a present image'}")))
        enabled = {kind: [name for name, entry in (seen.providers.get(kind) or {}).items() if entry.get("enabled")]
                   for kind in KINDS}
        failed = seen.providers.get("failed_providers")
        ok = seen.providers_code == 200 and failed == [] and all(enabled.values())
        result.append((ok, "every enabled provider connected (" + "; ".join(
            f"{kind}: {', '.join(enabled[kind]) or 'none enabled'}" for kind in KINDS) + ")"
            + ("" if failed in ([], None) else f"; not connected: {', '.join(failed)}")))
        for kind, answer, code_ in (("STT", seen.stt, seen.stt_code), ("TTS", seen.tts, seen.tts_code)):
            result.append((code_ == 200 and answer.get("ok") is True,
                           f"{kind} smoke request {code_} via {answer.get('provider') or answer.get('error')}"))
        latencies = seen.latencies
        average = sum(latencies) / len(latencies) if latencies else 0.0
        ok = bool(latencies) and not seen.latency_failures and average < request.latency_avg \
            and p95(latencies) < request.latency_p95
        result.append((ok, f"TTS latency over {len(latencies)} request(s): average {average:.3f}s "
                           f"(< {request.latency_avg:g}s), p95 {p95(latencies):.3f}s (< {request.latency_p95:g}s)"
                           + (f", {seen.latency_failures} failed" if seen.latency_failures else "")))
        memory = seen.memory_mb
        result.append((memory is not None and memory < request.memory_mb,
                       f"service memory {memory if memory is not None else 'unknown'} MB "
                       f"(< {request.memory_mb:g} MB)"))
        return result

    return checks
