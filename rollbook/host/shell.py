"""Shell snippets shared by facts and operations (POSIX sh, run on the managed host).

Secrets read from a host's env file (``REDIS_URL``, ``DATABASE_URL``) stay in shell
variables on that host: they are never echoed, and never reach the controller.
Example::

    f"{env_value('/opt/vision/.env', 'REDIS_URL', 'url')}; redis-cli -u \"$url\" PING"
"""

import shlex

q = shlex.quote

# sets $c to the host's compose command: the v2 plugin when present, else docker-compose v1
COMPOSE = 'if docker compose version >/dev/null 2>&1; then c="docker compose"; else c="docker-compose"; fi'


def env_value(env_file: str, key: str, var: str, default: str = "") -> str:
    """Set shell variable ``var`` to ``key``'s value in ``env_file`` (the last one wins)."""
    fallback = f'; {var}=${{{var}:-{default}}}' if default else ""
    return f"{var}=$(grep '^{key}=' {q(env_file)} 2>/dev/null | tail -n 1 | cut -d= -f2-){fallback}"


def address_of(url_var: str, var: str) -> str:
    """Set ``var`` to host:port of the URL in ``url_var``, credentials and path stripped."""
    return f'{var}=${{{url_var}#*://}}; {var}=${{{var}##*@}}; {var}=${{{var}%%/*}}'


def require(check: str, message: str) -> str:
    """Run ``check``; when it fails, print ``message`` (may use shell variables) to stderr and exit 1."""
    return f'{{ {check}; }} >/dev/null 2>&1 || {{ echo "{message}" >&2; exit 1; }}'


def redis_connect(env_file: str, what: str, seconds: int = 10) -> str:
    """Set and export $url from the env file's REDIS_URL; fail naming Redis's address when it does not
    answer within ``seconds``."""
    return "; ".join((
        env_value(env_file, "REDIS_URL", "url", "redis://127.0.0.1:6379/0"), "export url",
        address_of("url", "addr"),
        require(f'timeout {int(seconds)} redis-cli -u "$url" PING | grep -qx PONG',
                f"Redis unreachable at $addr ({what})"),
    ))


def postgres_connect(env_file: str, what: str, key: str = "DATABASE_URL", seconds: int = 10) -> str:
    """Set and export $db from the env file's ``key``; fail naming PostgreSQL's address when it does not
    answer within ``seconds``."""
    return "; ".join((
        env_value(env_file, key, "db"), "export db",
        address_of("db", "addr"),
        require(f'timeout {int(seconds)} psql "$db" -Atc "SELECT 1"', f"PostgreSQL unreachable at $addr ({what})"),
    ))


def backup(path: str, keep: int) -> str:
    """Copy ``path`` to ``<path>.backup.<UTC stamp>`` and keep only the newest ``keep`` copies.

    The copies are found by a shell glob (sorted, and the stamps sort in time order) and removed one
    by one, so any path works, spaces included; nothing but ``<path>.backup.*`` is ever removed."""
    return (f"cp -p {q(path)} {q(path)}.backup.$(date -u +%Y%m%dT%H%M%S.%6NZ) && "
            f"( set -- {q(path)}.backup.*; n=$#; for f in \"$@\"; do [ \"$n\" -le {int(keep)} ] && break; "
            f"rm -f -- \"$f\"; n=$((n - 1)); done )")


def timed(snippet: str, seconds: int, step: str) -> str:
    """Run ``snippet`` under ``sh -c`` (it sees exported variables) for at most ``seconds``; a timeout
    fails naming ``step``, e.g. ``migration 004 rollback: timed out after 600s``."""
    return (f"timeout {int(seconds)} sh -c {q(snippet)}; rc=$?; if [ $rc -eq 124 ]; then "
            f"echo {q(f'{step}: timed out after {int(seconds)}s')} >&2; fi; [ $rc -eq 0 ]")


def http_ok(url: str, seconds: int) -> str:
    """Succeed once ``url`` answers 200, polling every half second for at most ``seconds``."""
    return (f"{{ ok=1; for i in $(seq {int(seconds) * 2}); do [ \"$(curl -s -o /dev/null -w '%{{http_code}}' "
            f"--max-time 2 {q(url)})\" = 200 ] && {{ ok=0; break; }}; sleep 0.5; done; [ $ok = 0 ]; }}")


def fail(message: str) -> str:
    """A command that fails with ``message`` on stderr (how a failed verification fails its operation)."""
    return f"echo {q(message)} >&2; exit 1"
