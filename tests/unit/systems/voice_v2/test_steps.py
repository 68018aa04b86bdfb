"""The voice-v2 stages as data: the units recorded (and level 2's source beside them), each level's refusal,
why the process restarts (computed again from the context in apply, so converge and apply agree), and a
converge run that converges every recorded unit, of several levels, in one run."""

from types import SimpleNamespace

import pytest
from pyinfra.context import state as pyinfra_state

from rollbook.pipeline import Context
from rollbook.systems.voice_v2 import steps
from rollbook.systems.voice_v2.facts import CodeState, ImageState, Recorded, VenvState, VoiceState
from rollbook.systems.voice_v2.levels import LEVELS, config_target
from rollbook.systems.voice_v2.steps import VOICE

from ...harness import fake_host, group_data, validated
from .test_request import PROVIDERS

RUN = SimpleNamespace(restored_marker="/var/lib/rollbook/private/r-voice_v2.restored", started_marker="/var/lib/rollbook/private/r-voice_v2.started", run_id="r",
                      private_dir="/var/lib/rollbook/private")


@pytest.fixture(autouse=True)
def on_a_host():
    with fake_host(data=group_data("sandbox")) as host:
        yield host


def context(seen, target="rolled_back", env="sandbox", **overrides) -> Context:
    data = {**group_data(env), **overrides}
    return Context(request=VOICE.request(validated(data), target, seen.recorded if target is None else None), state=seen,
                   run=RUN, settings=validated(data))


def names(stage) -> list[str]:
    """The operations a stage added, in the order pyinfra runs them."""
    metas = sorted((pyinfra_state.op_meta[step._hash] for step in stage.steps), key=lambda meta: meta.op_order)
    return [", ".join(sorted(meta.names)) for meta in metas]


def state(**changes) -> VoiceState:
    fields = dict(env_file={"VOICE_V2_OPTIMIZED": "true"}, previous={"VOICE_V2_OPTIMIZED": "false", "KEY": "<h>"},
                  providers=PROVIDERS, running={"VOICE_V2_OPTIMIZED": "true"}, started=100.0,
                  recorded={"config": "enabled"})
    fields.update(changes)
    return VoiceState(**fields)


def test_the_request_carries_public_keys_and_the_salt_file():
    ctx = context(state(), rollbook_public_env_keys="KEY")
    assert ctx.request.public == frozenset({"KEY"})
    assert ctx.request.salt_file.endswith("/private/env-digest.salt")
    # one state per unit: the run records its level's units (merged into the record: other units keep theirs)
    assert VOICE.units(ctx.request, ctx.state) == {"env": "rolled_back", "providers": "rolled_back"}
    assert VOICE.sources(ctx.request, ctx.state) == {} and not VOICE.from_record(ctx.request)


def test_level_1_copies_env_previous_and_restarts_a_process_that_differs():
    ctx = context(state())
    assert VOICE.refusal(ctx) == ""
    config = config_target(ctx)
    assert config.env == {"VOICE_V2_OPTIMIZED": "false", "KEY": "<h>"}
    assert config.copied == ("KEY", "VOICE_V2_OPTIMIZED")
    assert LEVELS[1].reasons(ctx) == ["running process holds VOICE_V2_OPTIMIZED=***",  # not a public key
                                     "running process holds KEY=(unset)",
                                     "the provider settings change"]
    assert LEVELS[1].reasons(context(state(running=None))) == ["not running"]
    config = config_target(ctx)
    held = dict(env_file=dict(config.env), running=dict(config.env), providers=config.providers)
    assert LEVELS[1].reasons(context(state(**held, providers_changed=99.5))) == []
    assert LEVELS[1].reasons(context(state(**held, providers_changed=100.5))) == [  # edited after the start
        "running process started before the provider settings last changed"]
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
        assert bool(LEVELS[3].reasons(ctx)) is restarts
    compose = context(state(image=ImageState("latest", "", "")), voice_level=3, voice_unit="compose")
    assert VOICE.refusal(compose).endswith("is not present on the host, and voice_image_registry is unset "
                                           "(nowhere to pull it from)")


def test_level_3_pulls_a_missing_image_from_the_registry_before_it_names_it():
    missing = context(state(image=ImageState("latest", "", "sha256:a")), voice_level=3, voice_unit="compose",
                      voice_image_registry="registry.example.com:5000")
    assert VOICE.refusal(missing) == ""
    converge = VOICE.converge(missing)
    assert names(converge) == ["Pull voice-v2:previous-stable from registry.example.com:5000 when the host lacks it",
                               "Set the image voice-v2:previous-stable in /opt/voice_v2/docker-compose.yml"]
    assert converge.changes[0] == "pull registry.example.com:5000/voice-v2:previous-stable"
    assert [step.will_change for step in converge.steps] == [True, True]
    present = context(state(image=ImageState("previous-stable", "sha256:b", "sha256:b")), voice_level=3,
                      voice_unit="compose", voice_image_registry="registry.example.com:5000")
    assert [step.will_change for step in VOICE.converge(present).steps] == [False, False]


def test_a_restart_that_fails_gets_back_everything_the_run_replaced(monkeypatch):
    restarts = []
    monkeypatch.setattr(steps.service, "restarted", lambda **kwargs: restarts.append(kwargs["restore"]))
    VOICE.apply(context(state(code=CODE), voice_level=2))
    VOICE.apply(context(state(venv=VenvState("v1", "v0", 10)), voice_level=3))
    VOICE.apply(context(state(image=ImageState("latest", "sha256:b", "sha256:a")), voice_level=3, voice_unit="compose"))
    VOICE.apply(context(state()))
    code, venv, image, config = restarts
    assert (code.env_file, code.keys, code.also) == ("", (), (
        "/opt/voice_v2/app/services/voice_v2", "/opt/voice_v2/requirements.txt", "/opt/voice_v2/venv_voice_v2_optimized"))
    assert venv.also == ("/opt/voice_v2/venv_voice_v2_optimized",)
    assert image.also == ("/opt/voice_v2/docker-compose.yml",)
    assert (config.env_file, config.keys, config.also) == (
        "/opt/voice_v2/.env", ("KEY", "VOICE_V2_OPTIMIZED"), ("/opt/voice_v2/config/providers.json",))
    assert code.started == RUN.started_marker and code.marker == RUN.restored_marker


CODE = CodeState("t1", "r1", "r1", "/backup/voice_v2_20251101", "t0", "r0")


def test_a_level_2_rollback_records_its_units_and_the_source_it_restored():
    ctx = context(state(code=CODE), voice_level=2)
    assert VOICE.units(ctx.request, ctx.state) == {"code": "rolled_back", "requirements": "rolled_back"}
    assert VOICE.sources(ctx.request, ctx.state) == {"code": "/backup/voice_v2_20251101"}
    assert names(VOICE.converge(ctx)) == ["Restore app/services/voice_v2 from /backup/voice_v2_20251101",
                                          "Restore requirements.txt from /backup/voice_v2_20251101",
                                          "Install requirements.txt into /opt/voice_v2/venv_voice_v2_optimized"]
    git = context(state(code=CodeState("t1", "r1", "r1", "c0ffee", "t0", "r0", head="beef")), voice_level=2,
                  voice_code_source="git", voice_git_ref="v1.9.0")
    assert VOICE.sources(git.request, git.state) == {"code": "c0ffee"}  # the commit checked out
    assert names(VOICE.converge(git))[0] == "Check out the known-good ref v1.9.0"
    enable = context(state(code=CODE), "enabled", voice_level=2)
    assert VOICE.sources(enable.request, enable.state) == {}
    assert VOICE.units(enable.request, enable.state) == {"code": "enabled", "requirements": "enabled"}


def test_a_level_3_run_records_the_image_or_the_virtualenv():
    compose = context(state(image=ImageState("latest", "sha256:b", "sha256:a")), voice_level=3, voice_unit="compose")
    assert VOICE.units(compose.request, compose.state) == {"image": "rolled_back"}
    venv = context(state(venv=VenvState("v1", "v0", 10)), voice_level=3)
    assert VOICE.units(venv.request, venv.state) == {"venv": "rolled_back"}
    assert names(VOICE.converge(venv)) == ["Restore /opt/voice_v2/venv_voice_v2_optimized from "
                                           "/opt/voice_v2/venv_voice_v2_backup"]


def test_a_converge_run_reads_the_record_first_then_inspects_its_levels_and_recorded_source(monkeypatch, on_a_host):
    facts = []

    def get_fact(fact, **kwargs):
        facts.append((fact.__name__, kwargs))
        return Recorded(units={"env": "rolled_back", "code": "rolled_back", "requirements": "rolled_back"},
                        sources={"code": "/backup/voice_v2_20251031"}) if fact.__name__ == "VoiceRecorded" else None

    monkeypatch.setattr(on_a_host, "get_fact", get_fact)
    data = {**group_data("prod"), "voice_backup_dir": "/backup/voice_v2_20251101"}
    VOICE.inspect(VOICE.request(validated(data), None, None), validated(data))
    (first, _), (second, kwargs) = facts
    assert (first, second) == ("VoiceRecorded", "VoiceHost")
    assert kwargs["level"] == (1, 2) and kwargs["backup"] == "/backup/voice_v2_20251031" and kwargs["ref"] is None
    facts.clear()
    VOICE.inspect(VOICE.request(validated({**data, "voice_level": 2}), "rolled_back", None),  # a rollback: data's source
                  validated({**data, "voice_level": 2}))
    assert [name for name, _ in facts] == ["VoiceHost"] and facts[0][1]["backup"] == "/backup/voice_v2_20251101"


def test_a_converge_run_converges_several_levels_in_one_run_and_restarts_once():
    recorded = {"env": "rolled_back", "providers": "rolled_back", "code": "enabled", "requirements": "enabled"}
    current = CodeState("t1", "r1", "r1", "c0ffee", "t0", "r0", head="beef")
    seen = state(recorded=recorded, code=current, running={"VOICE_V2_OPTIMIZED": "true"})
    ctx = context(seen, None, env="prod")
    assert ctx.request.levels == (1, 2) and VOICE.from_record(ctx.request)
    assert VOICE.units(ctx.request, ctx.state) == recorded and VOICE.sources(ctx.request, ctx.state) == {}
    assert VOICE.scope(ctx.settings, ctx.request, None) == {
        "voice_desired": "env=rolled_back,providers=rolled_back,code=enabled,requirements=enabled"}
    assert VOICE.refusal(ctx) == ""
    assert names(VOICE.converge(ctx)) == [
        "Converge /opt/voice_v2/.env to the known-good configuration",
        "Set the provider settings in /opt/voice_v2/config/providers.json",
        "Check out the known-good ref v2.0.0",  # enabled: the current release
        "Install requirements.txt into /opt/voice_v2/venv_voice_v2_optimized"]
    apply = VOICE.apply(ctx)
    assert names(apply) == ["Restart voice-v2-service so the process runs the target"]
    assert LEVELS[1].reasons(ctx)[-1] == "the provider settings change"
    assert LEVELS[2].reasons(ctx) == ["the code changes (t1 -> t0)", "the requirements to install change"]
    on_disk = CodeState("t0", "r0", "r0", "c0ffee", "t0", "r0", head="c0ffee", changed=99.0)
    assert LEVELS[2].reasons(context(state(recorded=recorded, code=on_disk), None, env="prod")) == []
    edited = CodeState("t0", "r0", "r0", "c0ffee", "t0", "r0", head="c0ffee", changed=101.0)
    assert LEVELS[2].reasons(context(state(recorded=recorded, code=edited), None, env="prod")) == [
        "running process started before its code, requirements or virtualenv last changed"]


def test_a_converge_run_restores_the_recorded_level_2_source():
    recorded = {"code": "rolled_back", "requirements": "rolled_back"}
    seen = state(recorded=recorded, sources={"code": "/backup/voice_v2_20251031"},
                 code=CodeState("t1", "r1", "r1", "/backup/voice_v2_20251031", "t0", "r0"))
    ctx = context(seen, None, env="prod")
    assert VOICE.refusal(ctx) == "" and VOICE.sources(ctx.request, ctx.state) == {"code": "/backup/voice_v2_20251031"}
    assert names(VOICE.converge(ctx))[0] == "Restore app/services/voice_v2 from /backup/voice_v2_20251031"
    commit = context(state(recorded=recorded, sources={"code": "c0ffee"},
                           code=CodeState("t1", "r1", "r1", "", "missing", "missing")), None, env="prod")
    assert VOICE.refusal(commit) == "unknown git ref 'c0ffee' in /opt/voice_v2 (the recorded level 2 source)"


@pytest.mark.parametrize("recorded, sources, overrides, why", [
    ({"code": "rolled_back", "requirements": "enabled"}, {}, {}, "code and requirements are recorded as rolled_back "
     "and enabled"),
    ({"code": "rolled_back"}, {"code": "x; rm -rf /"}, {}, "the recorded level 2 source 'x; rm -rf /' is neither"),
    ({"code": "rolled_back"}, {}, {"voice_code_source": "git"}, "no level 2 source recorded to restore, and "
     "voice_git_ref is unset"),
    ({"venv": "enabled"}, {}, {}, "a level 3 enable on a systemd host has no current virtualenv"),
])
def test_converge_refusals(recorded, sources, overrides, why):
    seen = state(recorded=recorded, sources=sources, code=CODE, venv=VenvState("v1", "v0", 10))
    assert why in VOICE.refusal(context(seen, None, env="prod", **overrides))


def test_a_converge_run_converges_only_the_units_it_has_a_record_for():
    seen = state(recorded={"providers": "rolled_back"}, running={"VOICE_V2_OPTIMIZED": "true"})
    ctx = context(seen, None, env="prod")
    assert VOICE.units(ctx.request, ctx.state) == {"providers": "rolled_back"}
    assert names(VOICE.converge(ctx)) == ["Set the provider settings in /opt/voice_v2/config/providers.json"]
    assert config_target(ctx).env == {} and LEVELS[1].reasons(ctx) == ["the provider settings change"]
    assert VOICE.apply(ctx).steps[0].will_change
    unrecorded = context(state(recorded={"config": "zz"}), None, env="prod")
    assert VOICE.units(unrecorded.request, unrecorded.state) == {}  # the pipeline: "no recorded state: left alone"


def test_a_converge_run_verifies_every_level_it_converges(monkeypatch):
    verified = {}
    monkeypatch.setattr(steps.verify, "verified", lambda **kwargs: verified.update(kwargs))
    seen = state(recorded={"env": "rolled_back", "image": "enabled"}, image=ImageState("latest", "sha256:b", "sha256:b"))
    ctx = context(seen, None, env="prod", voice_unit="compose")
    VOICE.verify(ctx)
    assert verified["what"] == "voice-v2 env rolled back, image enabled"
    assert verified["fact_kwargs"]["image_tag"] == "latest"


def test_the_units_that_differ_are_named_for_the_plan_and_the_drift_report():
    ctx = context(state())
    assert VOICE.differing(ctx) == ["env", "providers"]
    config = config_target(ctx)
    held = context(state(env_file=dict(config.env), running=dict(config.env), providers=config.providers))
    assert VOICE.differing(held) == []
    edited = context(state(env_file={**config.env, "VOICE_V2_OPTIMIZED": "true"}, running=dict(config.env),
                           providers=config.providers))
    assert VOICE.differing(edited) == ["env"]  # a hand edit of .env
    stale = context(state(env_file=dict(config.env), running=dict(config.env), providers=config.providers,
                          providers_changed=150.0))
    assert VOICE.differing(stale) == ["providers"]  # settings edited, then put back, after the start


def test_level_1_makes_env_a_copy_of_env_previous_on_the_host_then_sets_data_s_keys():
    ctx = context(state(env_matches_previous=False))
    converge = VOICE.converge(ctx)
    assert [name for name in names(converge) if ".env" in name] == [
        "Copy /opt/voice_v2/.env.previous over /opt/voice_v2/.env",
        "Converge /opt/voice_v2/.env to the known-good configuration"]
    assert "/opt/voice_v2/.env: copy of /opt/voice_v2/.env.previous" in converge.changes
    assert [step.will_change for step in converge.steps][:2] == [True, False]  # after the copy, nothing else
    assert "env" in VOICE.differing(ctx)


def test_level_1_copies_nothing_when_env_is_already_env_previous_or_data_is_the_source():
    same = context(state(env_matches_previous=True))
    assert not any("Copy" in name for name in names(VOICE.converge(same)))
    from_data = context(state(env_matches_previous=False), voice_env_source="data",
                        voice_rolled_back_env={"VOICE_V2_OPTIMIZED": "false"})
    assert not any("Copy" in name for name in names(VOICE.converge(from_data)))
