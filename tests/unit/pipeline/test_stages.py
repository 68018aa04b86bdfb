

def test_the_architecture_page_lists_every_hook_the_code_has():
    from pathlib import Path

    from rollbook.pipeline.stages import hooks

    page = (Path(__file__).resolve().parents[3] / "docs" / "architecture.md").read_text()
    listed = [line.split("`")[1] for line in page.split("## The hooks", 1)[1].split("\n## ", 1)[0].splitlines()
              if line.startswith("| `")]
    assert listed == [name for name, _ in hooks()]
    for name, doc in hooks():
        assert f"| `{name}` | {doc.replace('|', chr(92) + '|')} |" in page, f"{name}: its doc changed"


def _code_strings(path) -> list[str]:
    """The string constants of a module's code: its docstrings (where examples may name a system) left out."""
    import ast

    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def test_rollbook_keeps_at_most_five_flat_modules_and_host_is_generic():
    from pathlib import Path

    package = Path(__file__).resolve().parents[3] / "rollbook"
    assert len(list(package.glob("*.py"))) <= 5
    for path in (package / "host").rglob("*.py"):
        named = [text for text in _code_strings(path)
                 if any(system in text.lower() for system in ("vision", "analyticbot", "phase17", "voice"))]
        assert not named, f"{path.relative_to(package)} names a system: {named}"
