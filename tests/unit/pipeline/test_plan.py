"""The plan's digest binds the code a run executes (rollbook.pipeline.plan.code_digest)."""

import pytest

from rollbook.core import runs
from rollbook.pipeline import plan


@pytest.fixture
def tree(tmp_path, monkeypatch):
    package, root = tmp_path / "rollbook", tmp_path / "checkout"
    for path, text in {package / "host" / "scripts" / "run_record.py": "print(1)\n",
                       package / "migration.py": "SQL = 'ALTER TABLE posts'\n",
                       root / "deploys" / "vision_rollback.py": "vision()\n",
                       root / "templates" / "unit.j2": "[Unit]\n",
                       root / "group_data" / "all.py": "x = 1\n"}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(plan, "PACKAGE", package)
    monkeypatch.setattr(plan, "checkout", lambda: root)
    runs.SESSION.computed.clear()
    yield package, root
    runs.SESSION.computed.clear()


def digest_now() -> str:
    runs.SESSION.computed.clear()
    return plan.code_digest()


@pytest.mark.parametrize("changed", ["rollbook/migration.py", "rollbook/host/scripts/run_record.py",
                                     "checkout/deploys/vision_rollback.py", "checkout/templates/unit.j2"])
def test_any_file_a_run_executes_or_sends_changes_the_digest(tree, changed):
    before = digest_now()
    path = tree[0].parent / changed
    path.write_text(path.read_text() + "# edited after the approval\n")
    assert digest_now() != before


def test_a_file_added_or_renamed_changes_it_and_data_or_a_cache_does_not(tree):
    package, root = tree
    before = digest_now()
    (root / "group_data" / "all.py").write_text("x = 2\n")  # data: the plan's data binds it, not the code
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "migration.cpython-311.pyc").write_bytes(b"\0")
    assert digest_now() == before
    (root / "deploys" / "vision_rollback.py").rename(root / "deploys" / "vision_enable.py")
    assert digest_now() != before


def test_the_digest_covers_the_code():
    document = {"environment": "prod", "deploy": "deploys/vision_rollback.py", "hosts": ["vision-1"],
                "code": "sha256:aa", "data": {}, "plan": {}}
    assert plan.digest_of(document) != plan.digest_of({**document, "code": "sha256:bb"})
    assert plan.render(document)[1] == "  code: sha256:aa"
