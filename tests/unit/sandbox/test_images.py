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
