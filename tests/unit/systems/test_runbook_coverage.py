"""docs/runbook-coverage.md: every file, function and test it names exists, every runbook has a table whose
rows each say one status, and the counts at the top are the tables'. The runbooks themselves live outside
the repo (shared/runbooks/ beside the checkout): where they are found, the tables must be exactly theirs."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PAGE = (REPO / "docs" / "runbook-coverage.md").read_text()
STATUSES = ("automated", "partly", "manual", "not automated")
RUNBOOK = re.compile(r"^## (\d{3}_[0-9a-f]+\.[\w.-]+\.md)$", re.M)  # a table's heading: the runbook's file name
CODE = re.compile(r"`((?:rollbook|deploys)/[\w/]+\.py)` `([\w.]+)`")  # `rollbook/x/y.py` `Class.method`
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")  # `tests/unit/x/test_y.py::test_name`
FILE = re.compile(r"`((?:rollbook|deploys|group_data|templates)/[\w./-]+)`")  # any other repo path


def cells(line: str) -> list[str]:
    """The cells of a table row (``\\|`` is a pipe inside a cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def tables() -> dict[str, list[list[str]]]:
    """Runbook file name -> its table's rows (cells), in the page's order."""
    parts = RUNBOOK.split(PAGE)[1:]
    return {name: [cells(line) for line in body.splitlines() if line.startswith("|")][2:]  # no header, no |---|
            for name, body in zip(parts[::2], parts[1::2])}


def defined(path: Path, name: str) -> bool:
    """Each part of ``name`` (``Class.method``) is defined in the file: a def, a class or an assignment."""
    text = path.read_text()
    return all(re.search(rf"^\s*(?:async\s+def|def|class)\s+{part}\b|^{part}\s*=", text, re.M)
               for part in name.split("."))


def test_every_code_path_and_name_it_gives_exists():
    named = CODE.findall(PAGE)
    assert named
    missing = [f"{path} {name}" for path, name in named if not (REPO / path).is_file() or not defined(REPO / path, name)]
    assert not missing, missing
    gone = [path for path in FILE.findall(PAGE) if not (REPO / path).exists()]
    assert not gone, gone


def test_every_test_it_names_exists():
    named = TEST.findall(PAGE)
    assert named
    missing = [f"{path}::{name}" for path, name in named
               if not (REPO / path).is_file() or not re.search(rf"^def {name}\(", (REPO / path).read_text(), re.M)]
    assert not missing, missing


def test_each_runbook_has_a_table_whose_rows_say_one_status():
    found = tables()
    assert [name[:3] for name in found] == ["000", "001", "002", "003", "004"]
    for name, rows in found.items():
        assert rows, f"{name}: no rows"
        for row in rows:
            assert len(row) == 5, f"{name}: {row[0]}: {len(row)} cells (a `|` in a cell is written `\\|`)"
            step, status, code, proof = row[0], row[2], row[3], row[4]
            assert status in STATUSES, f"{name} {step}: status {status!r}"
            if status == "automated":  # what does it, and what proves it
                assert CODE.search(code) or "`deploys/" in code, f"{name} {step}: no code named"
                assert TEST.search(proof), f"{name} {step}: no test named"


def test_the_counts_at_the_top_are_the_tables():
    summary = {row[0]: [int(count) for count in row[1:]] for row in map(cells, PAGE.splitlines())
               if row and row[0] in tables()}
    counted = {name: [[row[2] for row in rows].count(status) for status in STATUSES] for name, rows in tables().items()}
    assert summary == counted


def test_the_tables_are_the_runbooks_when_they_are_here():
    here = next((parent / "shared" / "runbooks" for parent in REPO.parents
                 if (parent / "shared" / "runbooks").is_dir()), None)
    if here is None:
        pytest.skip("no shared/runbooks/ beside the checkout (a clean clone): the runbook files are not compared")
    assert list(tables()) == sorted(path.name for path in here.glob("*.md"))
