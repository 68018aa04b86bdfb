"""code.lines_commented's sed scripts on a real file: the toggle and its undo give the same bytes."""

import subprocess

from rollbook.host.code import bre, sed_script
from rollbook.systems.phase17.facts import INCLUDE_LINE, IMPORT_LINE

TEXT = (f"from fastapi import FastAPI\n{IMPORT_LINE}\napp = FastAPI()\n{INCLUDE_LINE}\n"
        f"    {INCLUDE_LINE}\n# {IMPORT_LINE}x\nlast line without newline")


def sed(path, commented: bool):
    args = [arg for line in (IMPORT_LINE, INCLUDE_LINE) for arg in ("-e", sed_script(line, commented))]
    subprocess.run(["sed", "-i", *args, str(path)], check=True)


def test_comment_out_then_restore_is_byte_identical(tmp_path):
    path = tmp_path / "main.py"
    path.write_text(TEXT)
    sed(path, True)
    lines = path.read_text().split("\n")
    assert lines[1] == f"# {IMPORT_LINE}" and lines[3] == f"# {INCLUDE_LINE}"
    assert lines[4] == f"    {INCLUDE_LINE}" and lines[5] == f"# {IMPORT_LINE}x"  # only whole lines at column 0
    sed(path, True)  # a second run finds nothing to do
    assert path.read_text().count("# # ") == 0
    sed(path, False)
    assert path.read_bytes() == TEXT.encode()


def test_regex_characters_are_literal():
    assert bre("a.b*c[d]^$/\\") == "a\\.b\\*c\\[d\\]\\^\\$\\/\\\\"

