"""Code toggles: comment out, or restore, exact whole lines of a source file; every other byte stays."""

from pyinfra.api import operation
from pyinfra.api.command import StringCommand

from ..core.report import announce
from .command import command, joined
from .shell import backup, inside

COMMENT = "# "


def bre(text: str) -> str:
    """``text`` as a literal in a sed basic regular expression (``/`` as the delimiter).

    >>> bre("app.include_router(x)")
    'app\\\\.include_router(x)'
    """
    return "".join("\\" + char if char in "\\.[]*^$/" else char for char in text)


def sed_script(line: str, commented: bool) -> str:
    """The sed command turning the whole line ``line`` into ``# line`` (or back)."""
    if commented:
        return f"s/^{bre(line)}$/{COMMENT}&/"
    return f"s/^{bre(COMMENT)}\\({bre(line)}\\)$/\\1/"


@operation()
def lines_commented(path: str, lines: list[str], current: dict[str, bool], commented: bool, backup_keep: int = 5,
                    root: str | None = None):
    """Comment out (prefix ``# ``) or restore each of ``lines`` in ``path``, each a whole line at
    column 0; every other byte of the file stays (an edit and its undo give the same bytes).

    + current: line (no comment prefix) -> commented out now (from a fact; each line there exactly once)
    + backup_keep, root: as for ``files.content``

    Fails (no edit) when a line is not found as expected at execute time. Example::

        code.lines_commented(name="Comment out the video_stream router", path="/srv/phase17/server/app/main.py",
                             lines=ROUTER_LINES, current=state.main.router, commented=True)
    """
    todo = [line for line in lines if current.get(line) != commented]
    if not todo:
        return
    announce([f"{path}: {'comment out' if commented else 'restore'} {line!r}" for line in todo])
    yield _all_there(path, todo, not commented, "the expected lines are not there (the file changed shape)")
    yield command("{inside} && {backup}", inside=inside(path, root), backup=backup(path, backup_keep))
    scripts = joined((command("-e {script}", script=sed_script(line, commented)) for line in todo), " ")
    yield command("sed -i --follow-symlinks {scripts} {path}", scripts=scripts, path=path)
    yield _all_there(path, todo, commented, "the edit did not take effect")


def _all_there(path: str, lines: list[str], commented: bool, problem: str) -> StringCommand:
    """Fail naming ``problem`` unless each of ``lines`` is a whole line of ``path`` (commented out or not)."""
    found = joined((command("grep -qxF -e {line} {path}", line=COMMENT + line if commented else line, path=path)
                    for line in lines), " && ")
    return command("{found} || {{ echo {message} >&2; exit 1; }}", found=found, message=f"{path}: {problem}")
