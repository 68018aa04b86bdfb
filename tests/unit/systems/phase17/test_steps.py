"""The phase17 stages as data: the units recorded (one per method), refusal as a reason, what each unit
changes, and a converge run that converges every recorded unit in one run."""

from types import SimpleNamespace

import pytest
from pyinfra.context import state as pyinfra_state

from rollbook.pipeline import Context
from rollbook.systems.phase17 import steps
from rollbook.host.process import Process
from rollbook.systems.phase17.facts import IMPORT_LINE, INCLUDE_LINE, MainFile, Phase17State
from rollbook.systems.phase17.steps import PHASE17, _flag_target, _router_todo

from ...harness import fake_host, group_data, validated

ROUTER_SHAPE = MainFile(mtime=1.0, router={IMPORT_LINE: False, INCLUDE_LINE: False})
GUARDED = MainFile(mtime=1.0, router={}, missing=[IMPORT_LINE, INCLUDE_LINE], guarded=True)
RUN = SimpleNamespace(restored_marker="/var/lib/rollbook/private/r-phase17.restored", started_marker="/var/lib/rollbook/private/r-phase17.started", run_id="r",
                      private_dir="/var/lib/rollbook/private")


@pytest.fixture(autouse=True)
def on_a_host():
    with fake_host(data=group_data("sandbox")) as host:
        yield host


def seen(main, recorded=None, env_file=None, process=None) -> Phase17State:
    return Phase17State(main=main, settings_define_flag=True, env_file={} if env_file is None else env_file,
                        process=process, recorded=recorded or {})


def context(target, main, method="router", recorded=None, env="sandbox", **state) -> Context:
    data = {**group_data(env), "phase17_method": method}
    host_state = seen(main, recorded, **state)
    return Context(request=PHASE17.request(validated(data), target, recorded), state=host_state, run=RUN, settings=validated(data))


def names(stage) -> list[str]:
    """The operations a stage added, in the order pyinfra runs them."""
    metas = sorted((pyinfra_state.op_meta[step._hash] for step in stage.steps), key=lambda meta: meta.op_order)
    return [", ".join(sorted(meta.names)) for meta in metas]


def test_a_run_records_the_unit_of_its_method_only():
    ctx = context("rolled_back", ROUTER_SHAPE, recorded={"flag": "enabled"})
    assert PHASE17.units(ctx.request, ctx.state) == {"router": "rolled_back"}  # merged into the record: flag kept
    assert not PHASE17.from_record(ctx.request)
    flag = context("enabled", GUARDED, method="flag")
    assert PHASE17.units(flag.request, flag.state) == {"flag": "enabled"}
    assert PHASE17.scope(flag.settings, flag.request, "enabled") == {"phase17_method": "flag"}


def test_refusal_is_a_reason_or_empty():
    assert PHASE17.refusal(context("rolled_back", None)).endswith("app/main.py not found")
    assert PHASE17.refusal(context("rolled_back", ROUTER_SHAPE)) == ""
    assert "has no 'if STREAMING_ENABLED:' guard" in PHASE17.refusal(context("rolled_back", ROUTER_SHAPE, "flag"))


def test_router_changes_only_the_lines_not_yet_as_wanted_and_no_flag():
    half = MainFile(mtime=1.0, router={IMPORT_LINE: True, INCLUDE_LINE: False})
    assert _router_todo(context("rolled_back", half)) == [INCLUDE_LINE]
    assert _router_todo(context("enabled", half)) == [IMPORT_LINE]
    assert _flag_target(context("enabled", half)) == {}
    assert _flag_target(context("enabled", GUARDED, method="flag")) == {"STREAMING_ENABLED": "true"}


def test_the_rollback_paths_keep_their_operation_names():
    router = context("rolled_back", ROUTER_SHAPE)
    assert names(PHASE17.converge(router)) == ["Comment out the video_stream router in app/main.py"]
    assert names(PHASE17.apply(router)) == ["Restart phase17-server so the process serves the new state"]
    flag = context("rolled_back", GUARDED, method="flag", env_file={"STREAMING_ENABLED": "true"})
    converge = PHASE17.converge(flag)
    assert names(converge) == ["Set STREAMING_ENABLED=false in /srv/phase17/server.env"]
    assert converge.changes == ["STREAMING_ENABLED: true -> false"]


def test_converge_follows_the_record_and_needs_no_new_approval():
    recorded = {"router": "rolled_back", "flag": "enabled"}
    ctx = context(None, ROUTER_SHAPE, recorded=recorded, env="prod")
    assert ctx.request.desired == recorded and PHASE17.from_record(ctx.request)
    assert PHASE17.scope(ctx.settings, ctx.request, None) == {"phase17_desired": "router=rolled_back,flag=enabled"}
    nothing = context(None, ROUTER_SHAPE, recorded={}, env="prod")
    assert PHASE17.units(nothing.request, nothing.state) == {}  # the pipeline: "no recorded state: left alone"


def test_converge_converges_every_recorded_unit_in_one_run(monkeypatch):
    recorded = {"router": "enabled", "flag": "rolled_back"}
    guarded_and_commented = MainFile(mtime=5.0, router={IMPORT_LINE: True, INCLUDE_LINE: True}, guarded=True)
    ctx = context(None, guarded_and_commented, recorded=recorded, env_file={"STREAMING_ENABLED": "true"},
                  process=Process(pid=1, started=9.0, env={"STREAMING_ENABLED": "true"}))
    assert PHASE17.refusal(ctx) == "" and PHASE17.units(ctx.request, ctx.state) == recorded
    converge = PHASE17.converge(ctx)
    assert names(converge) == ["Restore the video_stream router in app/main.py",
                               "Set STREAMING_ENABLED=false in /srv/phase17/server.env"]
    assert converge.changes == [f"app/main.py: restore {IMPORT_LINE!r}", f"app/main.py: restore {INCLUDE_LINE!r}",
                                "STREAMING_ENABLED: true -> false"]
    assert _flag_target(ctx) == {"STREAMING_ENABLED": "false"}  # the running process must hold it
    assert [step.will_change for step in PHASE17.apply(ctx).steps] == [True]
    verified = {}
    monkeypatch.setattr(steps.verify, "verified", lambda **kwargs: verified.update(kwargs))
    PHASE17.verify(ctx)
    assert verified["what"] == "phase17 /ws/video/stream not served (router enabled, flag rolled back)"
    assert verified["fact_kwargs"]["cycles"] == 0  # not served: no leak check


def test_converge_serves_the_stream_only_when_every_unit_is_enabled(monkeypatch):
    verified = {}
    monkeypatch.setattr(steps.verify, "verified", lambda **kwargs: verified.update(kwargs))
    ctx = context(None, ROUTER_SHAPE, recorded={"router": "enabled"})  # sandbox: the flag is declared
    assert PHASE17.units(ctx.request, ctx.state) == {"router": "enabled"}  # no guard: the flag is left alone
    assert not PHASE17.from_record(ctx.request)  # conservative: a declared unit was asked for
    PHASE17.verify(ctx)
    assert verified["fact_kwargs"]["cycles"] == 20 and "served (router enabled)" in verified["what"]


def test_a_unit_is_left_alone_where_its_method_does_not_apply_unless_rolled_back_or_asked_for():
    guarded = context(None, GUARDED, recorded={})
    assert PHASE17.units(guarded.request, guarded.state) == {"flag": "enabled"}  # router lines only indented
    assert PHASE17.refusal(guarded) == ""
    router = context(None, ROUTER_SHAPE, recorded={})
    assert PHASE17.units(router.request, router.state) == {"router": "enabled"}
    assert PHASE17.refusal(context(None, None, recorded={})).endswith("app/main.py not found")
    # a unit recorded rolled_back is never left alone: refused instead (the stream could not be held off)
    recorded = context(None, ROUTER_SHAPE, recorded={"flag": "rolled_back"}, env="prod")
    assert "has no 'if STREAMING_ENABLED:' guard" in PHASE17.refusal(recorded)
    back = context(None, GUARDED, recorded={"router": "rolled_back", "flag": "enabled"}, env="prod")
    assert "has changed shape" in PHASE17.refusal(back)
    # one recorded enabled already holds where main.py has the other method's shape (methods switched)
    switched = context(None, GUARDED, recorded={"router": "enabled", "flag": "rolled_back"}, env="prod")
    assert PHASE17.units(switched.request, switched.state) == {"flag": "rolled_back"}
    assert PHASE17.refusal(switched) == ""
    unguarded = context(None, ROUTER_SHAPE, recorded={"router": "rolled_back", "flag": "enabled"}, env="prod")
    assert PHASE17.units(unguarded.request, unguarded.state) == {"router": "rolled_back"}
    # a rollback or enable is never left alone: its method must apply
    assert "has no 'if STREAMING_ENABLED:' guard" in PHASE17.refusal(context("enabled", ROUTER_SHAPE, "flag"))
    assert "use phase17_method=flag" in PHASE17.refusal(context("enabled", GUARDED))


def test_the_former_single_unit_converges_as_the_method_main_py_allows():
    router = context(None, ROUTER_SHAPE, recorded={"websocket": "rolled_back"}, env="prod")
    assert PHASE17.units(router.request, router.state) == {"router": "rolled_back"}
    assert PHASE17.from_record(router.request)
    assert PHASE17.scope(router.settings, router.request, None) == {"phase17_desired": "websocket=rolled_back"}
    flag = context(None, GUARDED, recorded={"websocket": "rolled_back"})  # sandbox: router declared, left alone
    assert PHASE17.units(flag.request, flag.state) == {"flag": "rolled_back"}


def test_the_units_that_differ_are_named_for_the_plan_and_the_drift_report():
    recorded = {"router": "enabled", "flag": "rolled_back"}
    commented = MainFile(mtime=5.0, router={IMPORT_LINE: True, INCLUDE_LINE: True}, guarded=True)
    both = context(None, commented, recorded=recorded, env_file={"STREAMING_ENABLED": "true"},
                   process=Process(pid=1, started=9.0, env={"STREAMING_ENABLED": "true"}))
    assert PHASE17.differing(both) == ["router", "flag"]
    active = MainFile(mtime=5.0, router={IMPORT_LINE: False, INCLUDE_LINE: False}, guarded=True)
    held = context(None, active, recorded=recorded, env_file={"STREAMING_ENABLED": "false"},
                   process=Process(pid=1, started=9.0, env={"STREAMING_ENABLED": "false"}))
    assert PHASE17.differing(held) == []
    stale = context(None, active, recorded=recorded, env_file={"STREAMING_ENABLED": "false"},
                    process=Process(pid=1, started=9.0, env={"STREAMING_ENABLED": "true"}))
    assert PHASE17.differing(stale) == ["flag"]  # the file holds it, the running process does not
