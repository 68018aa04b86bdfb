"""One schema for all data: typos, security overrides and wrong types are refused naming the key;
the defaults and the reference come from the same declarations."""

import runpy
from pathlib import Path

import pytest

from rollbook.core import schema
from rollbook.core.preflight import PreflightError

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("data, said", [
    ({"vision_wave": "b"}, "unknown data key vision_wave (did you mean vision_waves?)"),
    ({"nosuch": "1"}, "unknown data key nosuch:"),
    ({"rollbook_environment": "staging"}, "may not set the security setting rollbook_environment"),
    ({"rollbook_allowed_signers": "/tmp/mine"}, "may not set the security setting rollbook_allowed_signers"),
    ({"ssh_strict_host_key_checking": "no"}, "may not set the security setting ssh_strict_host_key_checking"),
    ({"rollbook_state_dir": "/tmp"}, "may not set the security setting rollbook_state_dir"),
    ({"rollbook_approval_max_hours": 1000}, "may not set the security setting rollbook_approval_max_hours"),
])
def test_a_data_override_that_is_unknown_or_weakens_security_is_refused(data, said):
    with pytest.raises(PreflightError) as refused:
        schema.refuse_override(data)
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_declared_per_run_and_tunable_keys_pass():
    schema.refuse_override({"vision_waves": "b", "approval": "x.json", "reason": "INC-1", "rollbook_takeover": True})


@pytest.mark.parametrize("data, said", [
    ({"vision_verify_window": "soon"}, "vision_verify_window"),
    ({"rollbook_lock_ttl": 0}, "rollbook_lock_ttl"),
    ({"vision_saved_dir": "/var/lib/x; rm -rf /"}, "vision_saved_dir"),
    ({"vision_saved_dir": "/var/lib/x\n"}, "vision_saved_dir"),
    ({"rollbook_environment": "production"}, "rollbook_environment"),
])
def test_a_wrongly_typed_value_is_refused_naming_its_key(data, said):
    with pytest.raises(PreflightError, match=said):
        schema.validate(data)


def test_the_defaults_are_valid_and_group_data_takes_them_from_the_schema():
    schema.validate(schema.defaults())
    loaded = runpy.run_path(str(REPO / "group_data" / "all.py"))
    assert {key: loaded[key] for key in schema.defaults()} == schema.defaults()


def test_every_key_is_declared_once():
    names = [name for model in schema.models() for name in model.model_fields]
    assert len(names) == len(set(names))


def test_the_data_reference_matches_the_schema():
    assert (REPO / "docs" / "data.md").read_text() == schema.reference(), \
        "docs/data.md is stale: python -m rollbook schema --write"


def test_the_models_are_the_pipeline_s_and_each_registered_system_s_and_the_json_schema_holds_every_key():
    from rollbook.systems import SYSTEMS

    assert sorted(SYSTEMS) == ["analyticbot", "phase17", "vision", "voice_v2"]
    assert [model.__module__ for model in schema.models()] == [
        "rollbook.pipeline.settings", *(system.settings_module for system in SYSTEMS.values())]
    documented = {name for model in schema.json_schema().values() for name in model["properties"]}
    assert documented == set(schema.fields())
    assert schema.json_schema()["Pipeline (every system)"]["properties"]["rollbook_state_dir"]["security"] is True
