"""A host's data is validated once, at preflight, into frozen settings; after that, pyinfra's host
data no longer answers for rollbook's keys (a read raises), so no stage can go back to it."""

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.context import ctx_host, ctx_state

from rollbook.core import loader
from rollbook.core.loader import HostSettings, ReadAfterPreflight
from rollbook.core.preflight import PreflightError

from ..harness import group_data


def a_host(data: dict, override: dict | None = None, groups=("vision_workers", "sandbox")):
    inventory = Inventory((["host-1"], {}), override_data=override or {},
                          **{group: (["host-1"], {}) for group in groups})
    state = State(inventory, Config())
    target = inventory.get_host("host-1")
    target.data.override_datas.update(data)
    return state, target


def load(data: dict, override: dict | None = None):
    state, target = a_host({**group_data("sandbox"), **data}, override)
    with ctx_state.use(state), ctx_host.use(target):
        return loader.load(target), target


def test_the_settings_are_the_validated_values():
    settings, _ = load({"vision_waves": "tokens,B"}, {"rollbook_takeover": "no"})
    assert settings.vision_waves == ("b", "tokens") and settings.rollbook_takeover is False
    assert settings.rollbook_environment == "sandbox" and dict(settings.override) == {"rollbook_takeover": "no"}


@pytest.mark.parametrize("key", ["vision_waves", "rollbook_state_dir", "analyticbot_features", "voice_level",
                                 "phase17_method", "rollbook_environment"])
def test_after_preflight_a_read_of_a_rollbook_key_from_host_data_raises(key):
    _, target = load({})
    with pytest.raises(ReadAfterPreflight, match=f"{key} read from host.data after preflight"):
        getattr(target.data, key)
    with pytest.raises(ReadAfterPreflight):
        target.data.get(key)


def test_pyinfra_s_own_keys_stay_readable_and_a_second_load_reads_the_same():
    settings, target = load({"_sudo": True, "ssh_user": "rollbook"})
    assert target.data._sudo is True and target.data.ssh_user == "rollbook"
    with ctx_host.use(target):
        again = loader.load(target)
    assert again.vision_waves == settings.vision_waves and again.sudo is True


def test_the_settings_are_frozen_and_name_a_typo():
    settings, _ = load({})
    with pytest.raises(AttributeError, match="frozen"):
        settings.vision_waves = ("a",)
    with pytest.raises(AttributeError, match=r"vision_wave is not a declared data key \(did you mean vision_waves\?\)"):
        settings.vision_wave


@pytest.mark.parametrize("override, said", [
    ({"vision_s3_bucket": None}, "--data vision_s3_bucket=null: pyinfra reads null as no value"),
    ({"vision_wave": "b"}, "unknown data key vision_wave"),
    ({"rollbook_state_dir": "/tmp/x"}, "may not set the security setting rollbook_state_dir"),
    ({"vision_s3_bucket": 1.1}, "vision_s3_bucket: Value error, the number 1.1 where text is expected"),
    ({"rollbook_converge_declared": "perhaps"}, "rollbook_converge_declared: Input should be a valid boolean .* .got 'perhaps'"),
])
def test_bad_data_is_refused_at_the_load_naming_the_key(override, said):
    with pytest.raises(PreflightError, match=said.replace("(", r"\(")):
        load(dict(override), override)


def test_settings_from_a_mapping_take_the_defaults():
    assert HostSettings.validated({}).rollbook_lock_ttl == 1800


def test_host_data_is_read_in_the_loader_only_and_nothing_requires_a_key_again():
    from pathlib import Path

    package = Path(loader.__file__).resolve().parents[1]
    texts = {path.relative_to(package).as_posix(): path.read_text() for path in package.rglob("*.py")}
    assert [name for name, text in texts.items() if "host.data" in text] == ["core/loader.py"]
    assert [name for name, text in texts.items() if "require(" in text] == []


def test_operations_get_the_validated_settings_never_the_raw_data_again():
    """An operation's body gets no settings argument from pyinfra: it asks ``settings_of`` (what preflight
    validated), so the state dir an upload is staged under is the validated one, whatever the data layer
    holds later; before preflight there is nothing to read."""
    state, target = a_host({**group_data("sandbox"), "_sudo": True, "ssh_user": "rollbook"})
    target.name = "host-never-loaded"
    with pytest.raises(RuntimeError, match="settings read before preflight"):
        loader.uploads_of(target)
    settings, target = load({"_sudo": True, "ssh_user": "rollbook"})
    target.data.override_datas["rollbook_state_dir"] = "/tmp/elsewhere"  # a later layer: never read
    assert loader.settings_of(target) is settings
    assert loader.uploads_of(target) == (settings.rollbook_state_dir, "rollbook") == ("/var/lib/rollbook", "rollbook")
