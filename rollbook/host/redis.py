"""Redis operations, run with ``redis-cli`` on the host against the ``REDIS_URL`` of its env file.

Both fail with ``Redis unreachable at host:port (...)`` when Redis does not answer; the
URL itself (it may hold a password) never leaves the host.
"""

from pyinfra.api import operation

from ..report import announce
from .shell import q, redis_connect, timed
from .timeouts import Timeouts


@operation()
def keys_deleted(env_file: str, pattern: str, count: int | None, timeouts: Timeouts, batch: int = 500):
    """
    Delete the keys matching ``pattern`` in batches with SCAN + UNLINK (never KEYS).

    + env_file: the host env file holding ``REDIS_URL``
    + pattern: a SCAN match pattern, e.g. ``vision:phash:*``
    + count: how many keys match now (from a fact); None when unknown (Redis did not answer)
    + timeouts: seconds Redis has to answer, and the whole deletion may take
    + batch: keys per UNLINK

    Example:

    .. code:: python

        redis.keys_deleted(name="Delete the phash cache", env_file="/opt/vision/.env",
                           pattern="vision:phash:*", count=state.phash_keys, timeouts=Timeouts(10, 600))
    """
    if count == 0:
        return
    announce([f"Redis: delete {count if count is not None else 'the'} keys {pattern} (SCAN + UNLINK)"])
    step = f"deleting {pattern}"
    yield (f"{redis_connect(env_file, step, timeouts.connect)}; "
           + timed(f"redis-cli -u \"$url\" --scan --pattern {q(pattern)} "
                   f"| xargs -r -n {int(batch)} redis-cli -u \"$url\" UNLINK >/dev/null", timeouts.command, f"Redis: {step}"))


@operation()
def stream_emptied(env_file: str, stream: str, length: int | None, save_dir: str, timeouts: Timeouts):
    """
    Save a stream's entries to ``save_dir`` on the host, then ``XTRIM`` it to 0.

    + env_file: the host env file holding ``REDIS_URL``
    + stream: the stream key
    + length: its length now (from a fact); None when unknown (Redis did not answer)
    + save_dir: where the entries are saved first (``<stream>.<UTC stamp>.txt``, XRANGE output)
    + timeouts: seconds Redis has to answer, and saving plus trimming may take

    Example:

    .. code:: python

        redis.stream_emptied(name="Empty the low-priority stream", env_file="/opt/vision/.env",
                             stream="stream:posts:vision:low", length=state.low_stream_length,
                             save_dir="/var/lib/rollbook/saved/vision", timeouts=Timeouts(10, 600))
    """
    if length == 0:
        return
    saved = f"{save_dir}/{stream.replace(':', '_')}.$(date -u +%Y%m%dT%H%M%S.%6NZ).txt"
    announce([f"Redis: save and trim {length if length is not None else 'the'} entries of {stream} to 0"])
    step = f"trimming {stream}"
    yield (f"{redis_connect(env_file, step, timeouts.connect)}; mkdir -p {q(save_dir)} && "
           + timed(f"redis-cli -u \"$url\" --raw XRANGE {q(stream)} - + > {saved} && "
                   f"redis-cli -u \"$url\" XTRIM {q(stream)} MAXLEN 0 >/dev/null", timeouts.command, f"Redis: {step}"))
