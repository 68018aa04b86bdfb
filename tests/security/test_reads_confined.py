"""Issue #22: an app's file that is a symlink leading out of its folder is never read (its target's
content would reach a fact, the output and history as root): the read test (``file_inside``) runs in
a real shell here, as on the host."""

import subprocess

import pytest

from rollbook.host.shell import file_inside


def holds(path) -> bool:
    return subprocess.run(["sh", "-c", f"if {file_inside(str(path))}; then echo yes; fi"],
                          capture_output=True, text=True).stdout.strip() == "yes"


@pytest.fixture
def app(tmp_path):
    folder = tmp_path / "opt" / "analyticbot"
    folder.mkdir(parents=True)
    (tmp_path / "shadow").write_text("root:$6$secret\n")
    return folder


def test_a_file_in_its_folder_is_read(app):
    (app / "VERSION").write_text("7.4.0\n")
    assert holds(app / "VERSION")


@pytest.mark.parametrize("target", ["../../shadow", "/etc/passwd"])
def test_a_symlink_leading_out_reads_as_missing(app, target):
    (app / "VERSION").symlink_to(target)
    assert not holds(app / "VERSION")


def test_a_symlink_within_the_folder_and_a_linked_folder_are_read(app, tmp_path):
    (app / "real").write_text("7.4.0\n")
    (app / "VERSION").symlink_to("real")
    assert holds(app / "VERSION")
    (tmp_path / "mounted").symlink_to(app)  # teams mount config folders from elsewhere
    assert holds(tmp_path / "mounted" / "VERSION")


def test_missing_and_a_folder_read_as_missing(app):
    assert not holds(app / "nothing") and not holds(app)


def test_a_name_with_quotes_and_spaces_stays_one_word(app):
    (app / "it's here; rm -rf x").write_text("1\n")
    assert holds(app / "it's here; rm -rf x")
