"""One schema for all data: typos, security overrides and wrong types are refused naming the key;
the defaults and the reference come from the same declarations."""

import re
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


# --- where each default comes from (docs/data.md's origin column) ---------------------------------------------

ORIGINS = {"rollbook", *(f"runbook {number:03d}" for number in range(5))}
# A runbook default the runbook implies rather than spells: the key -> the runbook's own words for it.
IMPLIED = {
    "voice_latency_requests": "for _ in range(3):  # 3 iterations per text",  # 3 texts x 3 = 9
    "voice_memory_limit_mb": "memory_usage < 1GB",  # 1024 MB
    "rollbook_console_self_service": "| Staging | None (self-service) |",  # ["staging"]
}


def runbooks() -> dict[str, str] | None:
    """``runbook NNN`` -> its text, from shared/runbooks/ beside the checkout (None in a clean clone)."""
    here = next((parent / "shared" / "runbooks" for parent in REPO.parents
                 if (parent / "shared" / "runbooks").is_dir()), None)
    return None if here is None else {f"runbook {path.name[:3]}": path.read_text()
                                      for path in sorted(here.glob("[0-9][0-9][0-9]_*.md"))}


def leaves(value) -> list[str | int | float]:
    """The plain texts and numbers of a default: each item of comma-separated text, list or map (keys too)."""
    if isinstance(value, bool) or value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        return [leaf for pair in value.items() for item in pair for leaf in leaves(item)]
    return [leaf for item in value for leaf in leaves(item)]


def shown(leaf, text: str) -> bool:
    """``leaf`` as the runbook writes it: a number on its own (3 as 3 or 3.0), a text as it is (a loopback
    URL's 127.0.0.1 as localhost too)."""
    if isinstance(leaf, str):
        return leaf in text or leaf.replace("127.0.0.1", "localhost") in text
    number = int(leaf) if float(leaf).is_integer() else leaf
    return re.search(rf"(?<![\d.]){re.escape(str(number))}(?:\.0+)?(?![\d])", text) is not None


def test_every_key_says_where_its_default_comes_from_and_the_reference_shows_it():
    origins = schema.origins()
    assert set(origins) == set(schema.fields())
    wrong = {name: origin for name, origin in origins.items() if origin not in ORIGINS}
    assert not wrong, wrong
    reference = schema.reference()
    assert "| key | type | default | origin | allowed | doc |" in reference
    for name, origin in origins.items():
        said = "—" if name in ("reason", "approval", "emergency") else schema.origin_text(origin)
        assert re.search(rf"^\| `{name}` \| [^\n]* \| {re.escape(said)} \| ", reference, re.M), name
    with pytest.raises(ValueError, match="runbook NNN"):
        schema.key("x", "a key", origin="runbook 4")


def test_a_doc_that_names_the_origin_agrees_with_it():
    for name, info in schema.fields().items():
        origin = schema.origins()[name]
        for number in re.findall(r"\bfrom runbook (\d{3})", info.description):
            assert origin == f"runbook {number}", f"{name}: the doc says from runbook {number}, origin is {origin}"
        if "rollbook's assumption" in info.description:
            assert origin == "rollbook", f"{name}: the doc says rollbook's assumption, origin is {origin}"


def test_each_runbook_default_appears_in_that_runbook():
    texts = runbooks()
    if texts is None:
        pytest.skip("no shared/runbooks/ beside the checkout (a clean clone): the defaults are not compared")
    origins = schema.origins()
    assert set(IMPLIED) <= {name for name, origin in origins.items() if origin != "rollbook"}
    missing = {}
    for name, info in schema.fields().items():
        origin = origins[name]
        if origin == "rollbook":
            continue
        assert origin in texts, f"{name}: {origin} is not in shared/runbooks/"
        if name in IMPLIED:
            absent = [] if IMPLIED[name] in texts[origin] else [IMPLIED[name]]
        else:
            absent = [leaf for leaf in leaves(info.default) if not shown(leaf, texts[origin])]
        if absent:
            missing[name] = (origin, absent)
    assert not missing, missing
