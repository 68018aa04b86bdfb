"""File operations: converge a whole file's content, backing up what it replaces."""

from io import StringIO

from pyinfra.api import FileUploadCommand, operation

from ..report import announce
from .shell import backup, q


@operation()
def content(path: str, current: str | None, text: str, backup_keep: int = 5, mode: str = "644"):
    """
    Converge file ``path`` to ``text`` (``current`` is its content now, None when missing).

    + path: the file on the host
    + current: its content now (from a fact)
    + text: the content it must have
    + backup_keep: how many ``<path>.backup.<UTC stamp>`` copies to keep
    + mode: octal file mode

    Example:

    .. code:: python

        files.content(name="Render vision_experiments.yml", path=path,
                      current=state.experiments, text=rendered)
    """
    if current == text:
        return
    announce([f"{path}: {'create' if current is None else 'rewrite'} ({len(text.splitlines())} lines)"])
    if current is not None:
        yield backup(path, backup_keep)
    yield FileUploadCommand(StringIO(text), path)
    yield f"chmod {q(mode)} {q(path)}"
