"""The example system of ``docs/adding-a-system.md``, built from the page into a copy of the checkout.

Each code block the page puts under ``<!-- file: PATH -->`` becomes that file, one under
``<!-- append: PATH -->`` is added to the end of it; nothing else is written::

    checkout = built(tmp_path / "checkout")
    subprocess.run([sys.executable, "-m", "rollbook", "schema", "--json"], cwd=checkout, env=environment(checkout))
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "adding-a-system.md"
_BLOCK = re.compile(r"^<!-- (file|append): (\S+) -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(page: str = "") -> list[tuple[str, str, str]]:
    """``(file | append, path, code)`` for each marked block of the page, in order."""
    return [match.groups() for match in _BLOCK.finditer(page or PAGE.read_text())]


def built(folder: Path) -> Path:
    """A copy of the checkout's files (tracked, and untracked ones git does not ignore) with the page's blocks."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    for kind, name, code in blocks():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            assert not path.exists(), f"{name}: the example would replace a file of the checkout"
            path.write_text(code)
        else:
            path.write_text(path.read_text() + "\n" + code)
    return folder


def environment(checkout: Path) -> dict[str, str]:
    """The environment that runs the copy's code (not the checkout's), against the running sandbox."""
    return {**os.environ, "PYTHONPATH": str(checkout),
            "ROLLBOOK_SANDBOX_DIR": os.environ.get("ROLLBOOK_SANDBOX_DIR", str(REPO / ".sandbox"))}
