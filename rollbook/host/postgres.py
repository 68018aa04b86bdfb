"""PostgreSQL operations, run with ``psql`` on the host (where the runbooks run it) against the database
URL of the host's env file (``shell.postgres_connect``: the URL never leaves the host)."""

from pyinfra.api import operation

from ..core.report import announce
from .command import command, joined, program
from .shell import postgres_connect, timed
from .timeouts import Timeouts


def with_timeouts(sql: str, timeouts: Timeouts) -> str:
    """``sql`` after ``SET lock_timeout`` (a statement waiting longer fails instead of queueing every other
    query behind it) and ``SET statement_timeout`` (the server cancels what psql has given up on)."""
    return (f"SET lock_timeout = '{int(timeouts.lock)}s'; SET statement_timeout = '{int(timeouts.command)}s'; "
            + sql)


@operation()
def script(env_file: str, url_key: str, sql: str, needed: bool, summary: list[str], what: str,
           timeouts: Timeouts, file: str = "", sha256: str = "", then: str = "", wrapped: bool = True):
    """Run ``sql`` (``with_timeouts``), then the SQL ``file`` on the host (whose content must still have the
    ``sha256`` the plan read), then ``then``, in one psql session stopping at the first error — in one
    transaction unless not ``wrapped`` (a file with its own BEGIN/COMMIT or CONCURRENTLY) — against the
    database URL under ``url_key`` in ``env_file``, when ``needed`` (from a fact); ``summary`` says what it
    does (in ``--dry`` too), ``what`` names the step when PostgreSQL does not answer or the script times
    out. Example::

        postgres.script(name="Roll back migration 004", env_file="/opt/app/.env", url_key="DATABASE_URL", sql=SAVE,
                        needed=True, summary=["drop has_video"], what="migration 004", timeouts=Timeouts(10, 600),
                        file="/opt/app/infra/db/migrations/004_rollback.sql", sha256="9f2c…")
    """
    if not needed:
        return
    announce(summary)
    psql = command('psql "$db" -q {single} -v ON_ERROR_STOP=1 -c {sql}', single=program("-1" if wrapped else ""),
                   sql=with_timeouts(sql, timeouts))
    steps = [program(postgres_connect(env_file, what, url_key, timeouts.connect))]
    if file:
        changed = f"{file} changed since the plan read it (sha256 {sha256}): plan again"
        steps.append(command('[ "$(sha256sum < {file} | cut -c1-64)" = {sha256} ] || {{ echo {changed} >&2; exit 1; }}',
                             file=file, sha256=sha256, changed=changed))
        psql = command("{psql} -f {file}", psql=psql, file=file)
    if then:
        psql = command("{psql} -c {then}", psql=psql, then=then)
    yield command("{connect}; {run}", connect=joined(steps, "; "), run=timed(psql, timeouts.command, what))
