"""Redis operations, run with ``redis-cli`` on the host against the ``REDIS_URL`` of its env file
(``shell.redis_connect``: the URL never leaves the host, the password never reaches an argument)."""

from pyinfra.api import operation

from ..core.report import announce
from .scripts import source
from .command import command, program
from .shell import REDIS_CLI, q, redis_connect, timed
from .timeouts import Timeouts

# runs on the host: rollbook/host/scripts/stream_entries.awk (one XRANGE batch -> one line per entry, and the ids)
_ENTRIES = source("stream_entries.awk")


@operation()
def keys_deleted(env_file: str, pattern: str, count: int | None, timeouts: Timeouts, batch: int = 500):
    """Delete the keys matching ``pattern`` with SCAN + UNLINK (never KEYS), ``batch`` at a time, against
    the ``REDIS_URL`` of ``env_file``; a key left afterwards (something still writes them) fails the step.

    + count: how many keys match now (from a fact); None when unknown (Redis did not answer)

    Example::

        redis.keys_deleted(name="Delete the phash cache", env_file="/opt/vision/.env",
                           pattern="vision:phash:*", count=state.phash_keys, timeouts=Timeouts(10, 600))
    """
    if count == 0:
        return
    announce([f"Redis: delete {count if count is not None else 'the'} keys {pattern} (SCAN + UNLINK)"])
    step = f"deleting {pattern}"
    left = f"Redis: keys {pattern} remain after the deletion (something still writes them):"
    delete = command('{cli} --scan --pattern {pattern} | xargs -r -n {batch} {cli} UNLINK >/dev/null && '
                     'left=$({cli} --scan --pattern {pattern} | wc -l) && '
                     '{{ [ "$left" -eq 0 ] || {{ echo {left} "$left" >&2; exit 1; }}; }}',
                     cli=program(REDIS_CLI), pattern=pattern, batch=int(batch), left=left)
    yield command("{connect}; {run}", connect=program(redis_connect(env_file, step, timeouts.connect)),
                  run=timed(delete, timeouts.command, f"Redis: {step}"))


def drain_command(stream: str, saved: str, batch: int) -> str:
    """The host shell of ``stream_emptied`` (``saved`` may use ``$(date ...)``), after ``redis_connect``."""
    s, n = q(stream), int(batch)
    unexpected = f"Redis: unexpected XRANGE answer for {stream}: the batch was not deleted"
    return (
        f"umask 077; f={saved}; b=\"$f.batch\"; ids=\"$f.ids\"; "
        f"trap 'rm -f \"$b\" \"$b.lines\" \"$ids\"; [ -s \"$f\" ] || rm -f \"$f\"' EXIT; "
        f"while :; do "
        f"{REDIS_CLI} --no-raw XRANGE {s} - + COUNT {n} > \"$b\" || exit 1; "
        f"case $(head -n 1 \"$b\") in '(empty'*) break;; esac; "
        f"rm -f \"$ids\"; awk -v ids=\"$ids\" {q(_ENTRIES)} \"$b\" > \"$b.lines\" && [ -s \"$ids\" ] "
        f"|| {{ echo {q(unexpected)} >&2; exit 1; }}; "
        f"cat \"$b.lines\" >> \"$f\" && chmod 600 \"$f\" && sync \"$f\" || exit 1; "
        f"deleted=$({REDIS_CLI} XDEL {s} $(cat \"$ids\")); "
        f"[ \"$deleted\" -gt 0 ] 2>/dev/null || {{ echo {q(f'Redis: XDEL on {stream} deleted nothing')} >&2; "
        f"exit 1; }}; "
        f"done"
    )


@operation()
def stream_emptied(env_file: str, stream: str, length: int | None, save_dir: str, timeouts: Timeouts,
                   batch: int = 1000):
    """Save a stream's entries to ``save_dir`` on the host and delete exactly those, ``batch`` at a time
    (``XRANGE`` then ``XDEL`` of their ids) until it is empty: an entry added meanwhile is saved first.

    + length: the stream's length now (from a fact); None when unknown (Redis did not answer)
    + save_dir: the save file's folder: ``<stream, ':' as '_'>.<UTC stamp>.txt``, mode 0600, one line per entry
      as redis-cli prints it (``1732612345678-0 "event" "{\\"post_id\\":\\"42\\"}"``); to replay it with new
      ids: ``sed 's/^[0-9]*-[0-9]* /XADD stream:posts:vision:low * /' FILE | redis-cli -h H -p P -n DB``

    Example::

        redis.stream_emptied(name="Empty the low-priority stream", env_file="/opt/vision/.env",
                             stream="stream:posts:vision:low", length=state.low_stream_length,
                             save_dir="/var/lib/rollbook/saved/vision", timeouts=Timeouts(10, 600))
    """
    if length == 0:
        return
    if int(batch) < 1:
        raise ValueError(f"batch must be at least 1, not {batch!r}")
    saved = f"{q(save_dir)}/{q(stream.replace(':', '_').replace('/', '_'))}.$(date -u +%Y%m%dT%H%M%S.%6NZ).txt"
    announce([f"Redis: save and delete {length if length is not None else 'the'} entries of {stream} "
              f"(XRANGE + XDEL, {int(batch)} at a time)"])
    step = f"trimming {stream}"
    yield command("{connect}; ( umask 077; mkdir -p {save_dir} ) && {run}",
                  connect=program(redis_connect(env_file, step, timeouts.connect)), save_dir=save_dir,
                  run=timed(drain_command(stream, saved, batch), timeouts.command, f"Redis: {step}"))
