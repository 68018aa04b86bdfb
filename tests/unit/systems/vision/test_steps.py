"""The vision stages as data: the waves a plan and a drift report name as differing on the host."""

import yaml

from rollbook.pipeline import Context
from rollbook.systems.vision.facts import VisionState
from rollbook.systems.vision.request import CONTROL, MANAGED_KEYS
from rollbook.systems.vision.steps import VISION

from ...harness import fake_host, group_data, validated

RECORDED = {"a": "enabled", "b": "rolled_back", "c": "enabled", "tokens": "enabled"}


def context(env_file, container=None, experiments=None) -> Context:
    data = group_data("sandbox")
    request = VISION.request(validated(data), None, RECORDED)
    seen = VisionState(env_file=env_file, container=env_file if container is None else container,
                       experiments=yaml.safe_dump(request.experiments if experiments is None else experiments),
                       phash_keys=0, low_stream_length=0, recorded=RECORDED)
    return Context(request=request, state=seen, run=None, settings=validated(data))


def held() -> dict[str, str]:
    """The flags as the recorded state wants them."""
    request = VISION.request(validated(group_data("sandbox")), None, RECORDED)
    return {key: request.env[key] for key in MANAGED_KEYS if key in request.env}


def test_a_host_that_holds_its_record_differs_on_no_wave():
    assert VISION.differing(context(held())) == []


def test_a_hand_edit_names_its_wave():
    edited = {**held(), "VISION_PHASH_ENABLED": "true"}
    assert VISION.differing(context(edited)) == ["b"]
    assert VISION.differing(context(held(), container=edited)) == ["b"]  # the running worker, not the file
    assert VISION.differing(context(held(), container={})) == ["a", "b", "c", "tokens"]  # not running


def test_an_experiment_entry_names_its_wave():
    request = VISION.request(validated(group_data("sandbox")), None, RECORDED)
    entries = {**request.experiments, "wave_b": {**CONTROL, "enabled": True}}
    assert VISION.differing(context(held(), experiments=entries)) == ["b"]


def test_a_flag_line_the_edit_does_not_handle_refuses_the_host_naming_it():
    from dataclasses import replace

    ctx = context(held())
    with fake_host(data=ctx.settings):
        assert VISION.refusal(ctx) == ""
    misshapen = Context(request=ctx.request, state=replace(ctx.state, misshapen=["VISION_PHASH_ENABLED"]), run=None,
                        settings=ctx.settings)
    with fake_host(data=ctx.settings):
        refused = VISION.refusal(misshapen)
    assert refused.startswith(
        "/opt/vision/.env: the line of VISION_PHASH_ENABLED has a shape rollbook does not edit")
