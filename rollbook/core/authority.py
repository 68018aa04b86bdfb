"""Where a run's security settings come from: the repo's own ``group_data/``, read by rollbook itself
(pyinfra's merged data cannot say a value's source); a host whose security key differs is refused::

    >>> differing({"rollbook_environment": "sandbox"}, ["vision_workers", "prod"])
    ['rollbook_environment']
"""

import ast
import os
from pathlib import Path

from . import schema
from .runs import SESSION
from .paths import checkout, source_checkout
from .preflight import PreflightError


def _read_group_file(path: Path) -> dict:
    """One group-data file's values, as pyinfra's inventory loader keeps them: ``__all__`` if set, else
    every name but those its imports bind and dunders."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    values = {"__file__": str(path)}
    exec(compile(tree, str(path), "exec"), values)  # the repo's own file, as pyinfra runs it
    imported = {alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
                for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names if alias.name != "*"}
    keys = values["__all__"] if "__all__" in values else [name for name in values if name not in imported]
    return {name: values[name] for name in keys if not name.startswith("__")}


def repo_group_data() -> dict[str, dict]:
    """The repo's ``group_data/``, read once per run: group name -> its data (``all``: every host's defaults)."""
    folder = checkout() / "group_data"
    return SESSION.once(("group data", str(folder)),
                        lambda: {path.stem: _read_group_file(path) for path in sorted(folder.glob("*.py"))})


def expected_for(groups) -> dict:
    """The security keys' values for a host in ``groups`` in the repo's group data (the last group wins)."""
    files = repo_group_data()
    merged = dict(files.get("all", {}))
    for group in groups:
        merged.update(files.get(group, {}))
    return {name: merged.get(name) for name in schema.security_keys()}


def differing(data, groups) -> list[str]:
    """The security keys whose value in ``data`` (a host's merged data) is not the repo's."""
    expected = expected_for(groups)
    return sorted(name for name, value in expected.items() if data.get(name) != value)


def check_checkout():
    """``ROLLBOOK_CHECKOUT`` may name only the checkout whose code runs (any, for an installed rollbook)."""
    named = os.environ.get("ROLLBOOK_CHECKOUT")
    running = source_checkout()
    if named and running is not None and Path(named).resolve() != running:
        raise PreflightError(f"ROLLBOOK_CHECKOUT={named} is not the checkout rollbook runs from ({running}): "
                             "unset it (the security settings come from the running checkout's group data)")


def check(data, groups):
    """Refuse, with one line naming the key, a host whose security settings are not the repo's."""
    check_checkout()
    wrong = differing(data, groups)
    if wrong:
        raise PreflightError(f"the security setting {', '.join(wrong)} differs from the repo's group data "
                             f"({checkout() / 'group_data'}): it comes from there only (not from --group-data, "
                             "another folder's group_data/, inventory host data or --data)")
