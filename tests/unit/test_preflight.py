import pytest

from rollbook.preflight import PreflightError, boolean, choice, flag_value, positive_int, scope


def test_scope_keeps_the_allowed_order_and_names_unknown_items():
    assert scope("tokens, A", ("a", "b", "c", "tokens"), "vision_waves") == ["a", "tokens"]
    assert scope(["b"], ("a", "b"), "k") == ["b"]
    with pytest.raises(PreflightError, match=r"vision_waves: unknown 'd' \(allowed: a, b, c, tokens\)"):
        scope("a,d", ("a", "b", "c", "tokens"), "vision_waves")
    with pytest.raises(PreflightError, match="vision_waves is empty"):
        scope("", ("a",), "vision_waves")


@pytest.mark.parametrize("value, expected", [(True, True), ("yes", True), ("0", False), ("False", False)])
def test_boolean_accepts_the_usual_spellings(value, expected):
    assert boolean(value, "k") is expected


def test_bad_values_are_refused_naming_the_key():
    with pytest.raises(PreflightError, match="vision_compression_poc: 'maybe' is not a boolean"):
        boolean("maybe", "vision_compression_poc")
    with pytest.raises(PreflightError, match="k: '-1' is not a positive whole number"):
        positive_int("-1", "k")
    with pytest.raises(PreflightError, match="target: 'on' is not one of enabled, rolled_back"):
        choice("on", ("enabled", "rolled_back"), "target")
    with pytest.raises(PreflightError, match="holds characters"):
        flag_value("a b", str, "k")


def test_flag_values_are_spelled_as_env_files_spell_them():
    assert flag_value(True, bool, "k") == "true" and flag_value("no", bool, "k") == "false"
    assert flag_value("512", int, "k") == "512" and flag_value("vision:phash", str, "k") == "vision:phash"
