"""The voice-v2 stages as data: each level's refusal, and why the process restarts (computed again from the
context in apply, so converge and apply agree)."""

import pytest

from rollbook.pipeline import Context
from rollbook.systems.voice_v2.facts import CodeState, ImageState, VenvState, VoiceState
from rollbook.systems.voice_v2.steps import VOICE, _config, _level_1_reasons, _level_3_reasons

from ...harness import fake_host, group_data
from .test_request import PROVIDERS


@pytest.fixture(autouse=True)
def on_a_host():
    with fake_host(data=group_data("sandbox")) as host:
        yield host


def context(seen, target="rolled_back", **overrides) -> Context:
    data = {**group_data("sandbox"), **overrides}
    return Context(request=VOICE.request(data, target, None), state=seen, run=None, data=data)


def state(**changes) -> VoiceState:
    fields = dict(env_file={"VOICE_V2_OPTIMIZED": "true"}, previous={"VOICE_V2_OPTIMIZED": "false", "KEY": "<h>"},
                  providers=PROVIDERS, running={"VOICE_V2_OPTIMIZED": "true"}, started=100, health={},
                  recorded={"config": "enabled"})
    fields.update(changes)
    return VoiceState(**fields)


def test_the_request_carries_public_keys_and_the_salt_file():
    ctx = context(state(), rollbook_public_env_keys="KEY")
    assert ctx.request.public == frozenset({"KEY"})
    assert ctx.request.salt_file.endswith("/private/env-digest.salt")
    assert VOICE.units(ctx.request, ctx.state) == {"config": "rolled_back"}


def test_level_1_copies_env_previous_and_restarts_a_process_that_differs():
    ctx = context(state())
    assert VOICE.refusal(ctx) == ""
    config = _config(ctx)
    assert config.env == {"VOICE_V2_OPTIMIZED": "false", "KEY": "<h>"}
    assert config.copied == ("KEY", "VOICE_V2_OPTIMIZED")
    assert _level_1_reasons(ctx) == ["running process holds VOICE_V2_OPTIMIZED=***",  # not a public key
                                     "running process holds KEY=(unset)",
                                     "running process read other provider settings"]
    assert _level_1_reasons(context(state(running=None))) == ["not running"]
    assert VOICE.refusal(context(state(previous=None))).endswith(".env.previous not found (the known-good "
                                                                 "configuration)")
    assert VOICE.refusal(context(state(env_file=None))).endswith("/.env not found")


@pytest.mark.parametrize("seen, overrides, why", [
    (state(code=CodeState("t", "r", "r", "", "", "")), {}, "no backup directory"),
    (state(code=CodeState("t", "r", "r", "/b", "missing", "r")), {}, "/b has no app/services/voice_v2"),
    (state(code=CodeState("t", "r", "r", "/b", "t0", "r0")), {"voice_unit": "compose"}, "needs a systemd host"),
    (state(code=CodeState("t", "r", "r", "/b", "t0", "r0")), {}, ""),
])
def test_level_2_refusals(seen, overrides, why):
    refused = VOICE.refusal(context(seen, voice_level=2, **overrides))
    assert (why in refused) if why else refused == ""


def test_level_3_restarts_when_the_virtualenv_changes_or_changed_after_the_start():
    venv = {"voice_level": 3}
    assert VOICE.refusal(context(state(venv=VenvState("v1", "missing", 0)), **venv)).startswith("virtualenv backup")
    for seen, restarts in ((state(venv=VenvState("v1", "v0", 10)), True),  # the restore changes it
                           (state(venv=VenvState("v0", "v0", 200)), True),  # changed after the process started
                           (state(venv=VenvState("v0", "v0", 10)), False)):
        ctx = context(seen, **venv)
        assert bool(_level_3_reasons(ctx)) is restarts
    compose = context(state(image=ImageState("latest", "", "")), voice_level=3, voice_unit="compose")
    assert "is not present on the host" in VOICE.refusal(compose)
