"""PostgreSQL operations, run with ``psql`` on the host (where the runbooks run it) against the database
URL of the host's env file (``shell.postgres_connect``: the URL never leaves the host)."""

from pyinfra.api import operation

from ..core.report import announce
from .command import command, program
from .shell import postgres_connect, timed
from .timeouts import Timeouts


def with_timeouts(sql: str, timeouts: Timeouts) -> str:
    """``sql`` after ``SET lock_timeout`` (a statement waiting longer fails instead of queueing every other
    query behind it) and ``SET statement_timeout`` (the server cancels what psql has given up on)."""
    return (f"SET lock_timeout = '{int(timeouts.lock)}s'; SET statement_timeout = '{int(timeouts.command)}s'; "
            + sql)


@operation()
def script(env_file: str, url_key: str, sql: str, needed: bool, summary: list[str], what: str,
           timeouts: Timeouts):
    """Run ``sql`` (``with_timeouts``) in one transaction, stopping at the first error, against the database
    URL under ``url_key`` in ``env_file``, when ``needed`` (from a fact); ``summary`` says what it does (in
    ``--dry`` too), ``what`` names the step when PostgreSQL does not answer or the script times out. Example::

        postgres.script(name="Roll back migration 004", env_file="/opt/app/.env", url_key="DATABASE_URL", sql=SQL,
                        needed=True, summary=["drop has_video"], what="migration 004", timeouts=Timeouts(10, 600))
    """
    if not needed:
        return
    announce(summary)
    psql = command('psql "$db" -q -1 -v ON_ERROR_STOP=1 -c {sql}', sql=with_timeouts(sql, timeouts))
    yield command("{connect}; {run}", connect=program(postgres_connect(env_file, what, url_key, timeouts.connect)),
                  run=timed(psql, timeouts.command, what))
