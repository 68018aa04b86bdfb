"""File operations: converge a whole file's content, backing up what it replaces."""

from io import StringIO

from pyinfra.api import FileUploadCommand, operation

from ..core.report import announce
from .command import command
from .shell import backup, inside
from .uploads import staging_path


@operation()
def content(path: str, current: str | None, text: str, backup_keep: int = 5, mode: str = "644",
            root: str | None = None):
    """Converge file ``path`` to ``text`` (``current`` is its content now, None when missing).
    An existing file keeps its mode and owner (a 0600 file holding a key stays 0600); the new
    content is written beside it and moved into place, so a reader never sees half a file.

    + backup_keep: how many ``<path>.backup.<UTC stamp>`` copies to keep
    + mode: octal mode of a file that does not exist yet
    + root: the app's folder ``path`` must lie in, symlinks followed (checked on the host first)

    Example::

        files.content(name="Render vision_experiments.yml", path=path,
                      current=state.experiments, text=rendered)
    """
    if current == text:
        return
    announce([f"{path}: {'create' if current is None else 'rewrite'} ({len(text.splitlines())} lines)"])
    staged = f"{path}.rollbook-new"
    # made 0600 first: the upload (SFTP, or sudo's cp) writes into it and keeps its mode, so the new
    # content is never readable by others before it takes the file's own mode
    yield command("{inside} && rm -f -- {staged} && install -m 600 /dev/null {staged}", inside=inside(path, root),
                  staged=staged)
    yield FileUploadCommand(StringIO(text), staged, remote_temp_filename=staging_path())
    if current is None:
        yield command("chmod {mode} {staged} && mv -f -- {staged} {path}", mode=mode, staged=staged, path=path)
        return
    yield command("{backup} && chmod --reference={path} -- {staged} && chown --reference={path} -- {staged} && "
                  "mv -f -- {staged} {path}", backup=backup(path, backup_keep), path=path, staged=staged)


@operation()
def copied(path: str, source: str, same: bool | None, backup_keep: int = 5, root: str | None = None):
    """Make file ``path`` a byte-for-byte copy of ``source`` on the host when ``same`` (from a fact) is False
    (None: unknown, nothing is done); as with ``content``, it keeps its mode and owner. Example::

        files.copied(name="Copy .env.previous over .env", path="/opt/voice_v2/.env",
                     source="/opt/voice_v2/.env.previous", same=state.env_matches_previous)
    """
    if same is not False:
        return
    announce([f"{path}: copy of {source}"])
    staged = f"{path}.rollbook-new"
    yield command("{inside} && {backup} && cp -- {source} {staged} && chmod --reference={path} -- {staged} "
                  "&& chown --reference={path} -- {staged} && mv -f -- {staged} {path}",
                  inside=inside(path, root), backup=backup(path, backup_keep), source=source, staged=staged,
                  path=path)
