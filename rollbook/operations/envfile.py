"""Env-file operations: converge some keys of a ``KEY=value`` file, keeping every other byte."""

from pyinfra.api import operation

from .. import envfile
from ..report import announce
from ..shell import backup


@operation()
def keys(path: str, current: dict[str, str], target: dict[str, str], backup_keep: int = 5):
    """
    Converge ``target``'s keys in env file ``path``; every other line stays byte for byte.

    + path: the env file on the host
    + current: the managed keys as the file holds them now (from a fact)
    + target: the values they must have
    + backup_keep: how many ``<path>.backup.<UTC stamp>`` copies to keep

    The run and ``--dry`` say ``KEY: old -> new`` per changed key; values of secret
    keys are masked. Example:

    .. code:: python

        envfile.keys(
            name="Set the vision flags in /opt/vision/.env",
            path="/opt/vision/.env", current=state.env_file,
            target={"VISION_PHASH_ENABLED": "false"},
        )
    """
    plan = envfile.plan_changes(current, target)
    if not plan:
        return
    announce([f"{path}: {line}" for line in envfile.describe(plan)])
    yield backup(path, backup_keep)
    yield envfile.edit_command(path, plan)
