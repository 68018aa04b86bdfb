"""Image recipes: tags follow the recipe's hash, so an unchanged recipe is reused and a changed one rebuilt."""

import pytest

from rollbook.sandbox import SandboxError, images, roles


def test_tags_are_stable_and_follow_the_parent(monkeypatch, tmp_path):
    first = images.image_tag("vision_worker")
    assert first == images.image_tag("vision_worker") and first.startswith("rollbook/vision_worker:")
    changed = tmp_path / "base.packages"
    changed.write_text(images.PACKAGES_FILE.read_text() + "htop\n")
    monkeypatch.setattr(images, "PACKAGES_FILE", changed)
    assert images.image_tag("vision_worker") != first  # a new base rebuilds its children


def test_every_role_has_a_recipe_and_unknown_names_are_refused():
    for role in roles.ROLES.values():
        assert (images.RECIPES / "images" / role.image / "Dockerfile").is_file()
        for extra in role.extra_images:
            assert extra in images.PARENTS
    with pytest.raises(SandboxError, match="unknown role 'nope'"):
        roles.role("nope")
    with pytest.raises(SandboxError, match="no image recipe named 'nope'"):
        images.recipe_hash("nope")


def test_a_stand_in_changes_only_the_images_that_copy_it(monkeypatch, tmp_path):
    assert [path.name for path in images.standins_of("vision_app")] == ["vision_worker.py"]
    before = {name: images.recipe_hash(name) for name in images.PARENTS}
    standins = tmp_path / "standins"
    standins.mkdir()
    for path in images.STANDINS.iterdir():
        if path.is_file():
            (standins / path.name).write_bytes(path.read_bytes())
    (standins / "vision_worker.py").write_text("# changed\n")
    monkeypatch.setattr(images, "STANDINS", standins)
    changed = {name for name in images.PARENTS if images.recipe_hash(name) != before[name]}
    assert changed == {"vision_app"}
