"""The phase17 checks as data: refusals before a run, and the runbook's verification."""

from rollbook.systems.phase17 import checks as p17
from rollbook.host.process import Process
from rollbook.systems.phase17.facts import INCLUDE_LINE, IMPORT_LINE, MainFile, Phase17Observation, Phase17State

from .test_request import request


def state(main=None, settings_define_flag=True, env_file=None, process=None):
    return Phase17State(main=main, settings_define_flag=settings_define_flag,
                        env_file={"STREAMING_ENABLED": "true"} if env_file is None else env_file,
                        process=process, recorded={})


ROUTER = MainFile(mtime=1.0, router={IMPORT_LINE: False, INCLUDE_LINE: False})
GUARDED = MainFile(mtime=1.0, router={}, missing=[IMPORT_LINE, INCLUDE_LINE], guarded=True)


def test_router_refuses_a_main_py_that_changed_shape_and_names_what_is_missing():
    why = p17.refusal(request(), state(main=MainFile(mtime=1.0, router={IMPORT_LINE: False}, missing=[INCLUDE_LINE])))
    assert why.startswith("/srv/phase17/server/app/main.py has changed shape: expected exactly one line "
                          "'app.include_router(video_stream_router)'")
    assert "use phase17_method=flag" in p17.refusal(request(), state(main=GUARDED))
    assert p17.refusal(request(), state(main=None)) == "/srv/phase17/server/app/main.py not found"
    assert p17.refusal(request(), state(main=ROUTER)) is None


def test_flag_needs_the_guard_the_settings_flag_and_the_env_file():
    flag = request(phase17_method="flag")
    assert "has no 'if STREAMING_ENABLED:' guard" in p17.refusal(flag, state(main=ROUTER))
    assert "settings.py does not define STREAMING_ENABLED" in p17.refusal(flag, state(main=GUARDED,
                                                                                       settings_define_flag=False))
    missing_env = Phase17State(main=GUARDED, settings_define_flag=True, env_file=None, process=None, recorded={})
    assert "/srv/phase17/server.env not found" in p17.refusal(flag, missing_env)
    assert p17.refusal(flag, state(main=GUARDED)) is None


def observation(status=403, accepted=False, rss=(-1, -1), env=None, suites=None, health=200):
    return Phase17Observation(
        process=Process(pid=42, started=1.0, env=env or {}), health_code=health, upgrade_status=status,
        accepted=accepted, message="", rss_before_kb=rss[0], rss_after_kb=rss[1],
        cycles_error="", suites={"app/tests/video": (0, "3 passed"), "tests/api": (0, "3 passed")}
        if suites is None else suites)


def failed(checks):
    return [statement for ok, statement in checks if not ok]


def test_rolled_back_wants_a_refused_upgrade_a_healthy_api_and_passing_suites():
    judge = p17.judge(request())
    assert failed(judge(observation(403))) == []  # FastAPI's refusal of an unrouted WebSocket
    assert failed(judge(observation(404))) == []  # the runbook's
    assert failed(judge(observation(101, True))) == [
        "WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers 101 (accepted), want a refusal (no 101)"]
    assert failed(judge(observation(0))) == [  # no answer is not a refusal
        "WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers nothing, want a refusal (no 101)"]
    assert failed(judge(observation(403, health=0))) == ["/v1/health answers nothing, want 200"]
    assert failed(judge(observation(404, suites={"app/tests/video": (1, "1 failed"), "tests/api": (0, "ok")}))) == \
        ["app/tests/video fails (exit 1): 1 failed"]


def test_enabled_wants_an_accepted_101_and_no_memory_growth():
    judge = p17.judge(request("enabled"))
    assert failed(judge(observation(101, True, rss=(40000, 40100)))) == []
    assert failed(judge(observation(101, False, rss=(40000, 40100)))) == [
        "WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers 101, want 101 accepted"]
    assert failed(judge(observation(101, True, rss=(40000, 81000)))) == [
        "memory grew 41000 kB over 20 stream connect/disconnect cycles (limit 8192 kB)"]
    assert failed(judge(observation(403)))[:2] == [
        "WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers 403, want 101 accepted",
        "memory over 20 stream cycles not measured"]


def test_flag_also_checks_the_process_environment():
    judge = p17.judge(request("enabled", phase17_method="flag"))
    assert failed(judge(observation(101, True, rss=(1, 1), env={"STREAMING_ENABLED": "false"}))) == [
        "process environment holds STREAMING_ENABLED=false (want true)"]


def test_a_converge_wants_101_only_when_every_unit_is_enabled():
    mixed = p17.judge(request(), {"router": "enabled", "flag": "rolled_back"})
    assert failed(mixed(observation(403, env={"STREAMING_ENABLED": "false"}))) == []
    assert failed(mixed(observation(101, True, env={"STREAMING_ENABLED": "true"}))) == [
        "process environment holds STREAMING_ENABLED=true (want false)",
        "WebSocket upgrade to /ws/video/stream?pipeline_id=yolo_ocr answers 101 (accepted), want a refusal (no 101)"]
    both = p17.judge(request(), {"router": "enabled", "flag": "enabled"})
    assert failed(both(observation(101, True, rss=(1, 1), env={"STREAMING_ENABLED": "true"}))) == []


def test_each_failure_carries_the_runbook_s_decision_tree_branch():
    """Runbook 002's decision tree and support steps, in its words, after the failed checks they apply to;
    every branch of the table meets a failure of the judge."""
    from rollbook.host.verify import decided

    rolled_back, enabled = p17.judge(request()), p17.judge(request("enabled"))
    seen = [rolled_back(observation(101, True)), rolled_back(observation(403, health=0)),
            rolled_back(observation(404, suites={"app/tests/video": (1, "1 failed")})),
            enabled(observation(101, True, rss=(40000, 81000)))]
    said = [statement for checks in seen for ok, statement in decided(checks, p17.DECISIONS) if ok is False]
    assert [decision.words for decision in p17.DECISIONS
            if not any(decision.said() in statement for statement in said)] == []
    assert said[0].endswith("if the endpoint is still served after Method 1, the flag: --data phase17_method=flag]")
