

def test_what_a_run_keeps_across_hosts_lives_in_the_session_only():
    """No module of rollbook (the sandbox and the host scripts aside) keeps state of its own: no module-level container bound to a
    lowercase name, no functools cache. What a run computes once is ``SESSION.once``."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[3] / "rollbook"
    found = []
    for path in package.rglob("*.py"):
        if {"sandbox", "scripts"} & set(path.relative_to(package).parts):  # scripts run on hosts
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) and node.value is not None else []
            mutable = isinstance(getattr(node, "value", None), (ast.Dict, ast.List, ast.Set, ast.DictComp,
                                                                  ast.ListComp, ast.SetComp))
            for target in targets:
                name = getattr(target, "id", "")
                if mutable and name != "__all__" and name.strip("_") != name.strip("_").upper():
                    found.append(f"{path.relative_to(package)}:{node.lineno} {name}")
        for node in ast.walk(tree):
            for decorator in getattr(node, "decorator_list", []):
                text = ast.unparse(decorator)
                if "cache" in text and "cached_property" not in text:
                    found.append(f"{path.relative_to(package)}:{node.lineno} @{text}")
    assert found == [], found


def test_once_computes_a_key_the_first_time_only():
    from rollbook.core.runs import Session

    session, calls = Session(), []
    assert [session.once(("k",), lambda: calls.append(1) or len(calls)) for _ in range(3)] == [1, 1, 1]
    assert session.once(("other",), lambda: 7) == 7 and calls == [1]
