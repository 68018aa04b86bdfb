"""S3 operations, run from the controller with boto3 (once per run: the bucket is shared by the hosts)."""

from pyinfra.api import FunctionCommand, operation

from .. import s3
from ..report import announce


def _purge(target: s3.S3Target, saved_prefix: str):
    # what is there now, not what the plan counted: nothing cached meanwhile is left behind
    return bool(s3.save_and_delete(target, s3.cache_keys(target), saved_prefix) >= 0)


@operation()
def cache_purged(target: s3.S3Target, count: int | None, saved_prefix: str):
    """
    Save (copy under ``saved_prefix``) and then delete every ``vision/{tenant}/{sha256}_{model}.json``.

    + target: the bucket and its credentials
    + count: how many cached results there are now (None: S3 did not answer)
    + saved_prefix: where they are copied first, in the same bucket

    Call it with ``_run_once=True``. Example:

    .. code:: python

        s3_ops.cache_purged(name="Purge the vision S3 cache", target=target, count=len(keys),
                            saved_prefix=f"rollbook-saved/{run_id}/", _run_once=True)
    """
    if count == 0:
        return
    announce([f"S3: save under {saved_prefix} and delete {count if count is not None else 'the'} "
              f"cached vision results in {target.where()}"])
    yield FunctionCommand(_purge, (target, saved_prefix), {})
