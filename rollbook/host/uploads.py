"""Where an upload waits before it is moved into place: never a readable temp file. Through sudo, pyinfra
uploads a file with SFTP as the SSH user, then copies it as root; left to itself it stages it as
``/tmp/pyinfra-<sha1>``, readable by every user. rollbook stages it in ``<state dir>-uploads/<ssh user>/``
(a 0700 folder of the SSH user's, made by the lock step and by ``deploys/bootstrap.py``). As root, the
upload goes straight to its destination, which callers put in a 0700 folder of their own::

    host.put_file(StringIO(secret), header_file, remote_temp_filename=staging_path(), **arguments)
"""

import uuid

from pyinfra import host

from ..core.loader import uploads_of
from .command import command


def folder(state_dir: str, user: str) -> str:
    return f"{state_dir}-uploads/{user}"


def staging_path() -> str | None:
    """A fresh staging path for one upload through sudo (None without sudo: pyinfra uploads directly)."""
    state_dir, user = uploads_of(host)
    if user is None:
        return None
    return f"{folder(state_dir, user)}/{uuid.uuid4().hex}"


def uploads_folder_command(state_dir: str, user: str):
    """Make the SSH user's private staging folder (run as root, in the lock step)::

        >>> print(uploads_folder_command("/var/lib/rollbook", "rollbook"))
        install -d -m 711 /var/lib/rollbook-uploads && install -d -m 700 -o rollbook /var/lib/rollbook-uploads/rollbook
    """
    return command("install -d -m 711 {uploads} && install -d -m 700 -o {user} {mine}",
                   uploads=f"{state_dir}-uploads", user=user, mine=folder(state_dir, user))
