"""The phase17 stages as data: the unit recorded, refusal as a reason, what the router method changes."""

from rollbook.pipeline import Context
from rollbook.systems.phase17.facts import IMPORT_LINE, INCLUDE_LINE, MainFile, Phase17State
from rollbook.systems.phase17.steps import PHASE17, _flag_target, _router_todo

from ...harness import group_data


def context(target, main, method="router") -> Context:
    data = {**group_data("sandbox"), "phase17_method": method}
    seen = Phase17State(main=main, settings_define_flag=True, env_file={}, process=None, recorded={})
    return Context(request=PHASE17.request(data, target, None), state=seen, run=None, data=data)


def test_the_run_records_the_websocket_unit():
    ctx = context("rolled_back", MainFile(mtime=1.0, router={IMPORT_LINE: False, INCLUDE_LINE: False}))
    assert PHASE17.units(ctx.request, ctx.state) == {"websocket": "rolled_back"}
    assert not PHASE17.from_record(ctx.request)


def test_refusal_is_a_reason_or_empty():
    assert PHASE17.refusal(context("rolled_back", None)).endswith("app/main.py not found")
    assert PHASE17.refusal(context("rolled_back", MainFile(mtime=1.0, router={IMPORT_LINE: False,
                                                                               INCLUDE_LINE: False}))) == ""


def test_router_changes_only_the_lines_not_yet_as_wanted_and_no_flag():
    half = MainFile(mtime=1.0, router={IMPORT_LINE: True, INCLUDE_LINE: False})
    assert _router_todo(context("rolled_back", half)) == [INCLUDE_LINE]
    assert _router_todo(context("enabled", half)) == [IMPORT_LINE]
    assert _flag_target(context("enabled", half)) == {}
    assert _flag_target(context("enabled", half, method="flag")) == {"STREAMING_ENABLED": "true"}
