"""Shell snippets shared by facts and operations (POSIX sh, run on the managed host). Secrets read from a
host's env file (``REDIS_URL``, ``DATABASE_URL``) stay in shell variables on that host: never echoed,
never sent to the controller, never in a command's arguments (``ps`` shows none). Example::

    f"{redis_connect('/opt/vision/.env', 'reading keys')}; {REDIS_CLI} XLEN stream:posts:vision:low"
"""

import posixpath
import shlex

from pyinfra.api.command import StringCommand

from .command import command

q = shlex.quote  # facts' shell (read-only); operations quote through command()

# sets $c to the host's compose command: the v2 plugin when present, else docker-compose v1
COMPOSE = 'if docker compose version >/dev/null 2>&1; then c="docker compose"; else c="docker-compose"; fi'


# prints "started <epoch, sub-second>" of the process $pid (from /proc: its start in clock ticks since boot)
PROCESS_STARTED = ("t=$(sed 's/^.*) //' /proc/$pid/stat | cut -d' ' -f20); "
                   "echo \"started $(awk -v now=\"$(date +%s.%N)\" -v up=\"$(cut -d' ' -f1 /proc/uptime)\" -v t=\"$t\" "
                   "-v hz=\"$(getconf CLK_TCK)\" 'BEGIN { printf \"%.3f\", now - up + t / hz }')\"")


def env_value(env_file: str, key: str, var: str, default: str = "") -> str:
    """Set shell variable ``var`` to ``key``'s value in ``env_file`` (the last one wins; one pair of
    surrounding quotes is removed). The value only ever sits in the variable: no command's arguments
    hold it (``grep`` gets the key, ``cut`` reads the line from a pipe)."""
    fallback = f'; {var}=${{{var}:-{default}}}' if default else ""
    return (f"{var}=$(grep -e {q('^' + key + '=')} {q(env_file)} 2>/dev/null | tail -n 1 | cut -d= -f2-); "
            f"case ${var} in \\\"*\\\") {var}=${{{var}#\\\"}}; {var}=${{{var}%\\\"}};; "
            f"\\'*\\') {var}=${{{var}#\\'}}; {var}=${{{var}%\\'}};; esac{fallback}")


def address_of(url_var: str, var: str) -> str:
    """Set ``var`` to host:port of the URL in ``url_var``, credentials and path stripped."""
    return f'{var}=${{{url_var}#*://}}; {var}=${{{var}##*@}}; {var}=${{{var}%%/*}}'


def checked(check: str, message: str) -> str:
    """Run ``check``; when it fails, print ``message`` (may use shell variables) to stderr and exit 1."""
    return f'{{ {check}; }} >/dev/null 2>&1 || {{ echo "{message}" >&2; exit 1; }}'


# redis-cli against the Redis that ``redis_connect`` found: host, port, database and user are arguments,
# the password is in the exported REDISCLI_AUTH (redis-cli reads it from its environment)
REDIS_CLI = 'redis-cli -h "$rh" -p "$rp" -n "$rn"${ru:+ --user "$ru"}${rt:+ --tls}'

# an "x" guards trailing newlines against the command substitution
_PERCENT_DECODE = ('import os, sys, urllib.parse as p; '
                   'sys.stdout.buffer.write(p.unquote_to_bytes(os.environb[b"v"]) + b"x")')


def _percent_decoded(var: str) -> str:
    """Percent-decode shell variable ``var`` in place when it holds a ``%`` (``p%40ss`` -> ``p@ss``) with
    python3's standard library; the value reaches python3 through its environment, never its arguments."""
    return (f'case ${var} in *%*) {var}=$(v="${var}" python3 -c {q(_PERCENT_DECODE)}) || '
            f'{{ echo "python3 is needed to decode a URL-encoded credential" >&2; exit 1; }}; '
            f'{var}=${{{var}%x}};; esac')


def redis_connect(env_file: str, what: str, seconds: int = 10) -> str:
    """Read the env file's ``REDIS_URL`` (``redis[s]://[[user]:password@]host[:port][/db]``; as with
    ``redis-cli -u``, user info without a ``:`` is the password) into the exported ``$rh`` ``$rp`` ``$rn``
    ``$ru`` ``$rt`` (host, port, database, user, TLS) and the percent-decoded password into the exported
    ``REDISCLI_AUTH``, for ``REDIS_CLI``; the URL is not kept. Fail naming Redis's address
    (``Redis unreachable at host:port (what)``) when it does not answer within ``seconds``."""
    return "; ".join((
        env_value(env_file, "REDIS_URL", "url", "redis://127.0.0.1:6379/0"),
        address_of("url", "addr"),
        "rt=; case $url in rediss://*) rt=1;; esac; r=${url#*://}",
        "case $r in *@*) ui=${r%@*}; r=${r##*@};; *) ui=;; esac",
        "r=${r%%\\?*}; r=${r%%#*}; hp=${r%%/*}; rn=; case $r in */*) rn=${r#*/}; rn=${rn%%/*};; esac",
        "case $hp in \\[*\\]*) rh=${hp#\\[}; rh=${rh%%\\]*}; rp=${hp##*\\]}; rp=${rp#:};; "
        "*:*) rh=${hp%:*}; rp=${hp##*:};; *) rh=$hp; rp=;; esac",
        "rh=${rh:-127.0.0.1}; rp=${rp:-6379}; rn=${rn:-0}",
        "case $ui in *:*) ru=${ui%%:*}; pw=${ui#*:};; *) ru=; pw=$ui;; esac",
        _percent_decoded("ru"), _percent_decoded("pw"),
        'unset REDISCLI_AUTH; if [ -n "$pw" ]; then REDISCLI_AUTH=$pw; export REDISCLI_AUTH; fi',
        "unset url r ui hp pw; export rh rp rn ru rt",
        checked(f'timeout {int(seconds)} {REDIS_CLI} PING | grep -qx PONG', f"Redis unreachable at $addr ({what})"),
    ))


def postgres_connect(env_file: str, what: str, key: str = "DATABASE_URL", seconds: int = 10) -> str:
    """Read the env file's ``key`` (``postgres[ql][+driver]://[user[:password]@]host[:port]/db[?params]``)
    into the exported ``$db`` *without its password*, and the percent-decoded password into the exported
    ``PGPASSWORD``, for ``psql "$db"``. A ``password=`` parameter is refused (it would reach psql's
    arguments). Fail naming PostgreSQL's address when it does not answer within ``seconds``."""
    refused = f"PostgreSQL: {key} in {env_file} has a password= parameter: put the password in the URL's user info"
    return "; ".join((
        env_value(env_file, key, "db"),
        address_of("db", "addr"),
        "unset PGPASSWORD; pw=; case $db in postgres://*|postgresql://*|postgres+*://*|postgresql+*://*) "
        'r=${db#*://}; a=${r%%[/?]*}; case $a in *@*) ui=${a%@*}; r=${r#"$ui@"};; *) ui=;; esac; '
        "case $ui in *:*) pu=${ui%%:*}; pw=${ui#*:};; *) pu=$ui;; esac; "
        'db="postgresql://${pu:+$pu@}$r";; esac',
        f"case $db in *password=*) echo {q(refused)} >&2; exit 1;; esac",
        _percent_decoded("pw"),
        'if [ -n "$pw" ]; then PGPASSWORD=$pw; export PGPASSWORD; fi; unset r a ui pu pw; export db',
        checked(f'timeout {int(seconds)} psql "$db" -Atc "SELECT 1"', f"PostgreSQL unreachable at $addr ({what})"),
    ))


STAMP = "$(date -u +%Y%m%dT%H%M%S.%6NZ)"  # a copy's UTC stamp: copies sort in time order


def _backed_up(copy: str, path: str, keep: int, remove: str) -> StringCommand:
    # the copies, found by a glob, sort in time order (their stamps do); the oldest beyond ``keep`` go, one
    # by one, so any path works, spaces included; nothing but ``<path>.backup.*`` is ever removed
    return command(f"{copy} {{path}} {{path}}.backup.{STAMP} && ( set -- {{path}}.backup.*; n=$#; for f in \"$@\"; "
                   f"do [ \"$n\" -le {int(keep)} ] && break; {remove} -- \"$f\"; n=$((n - 1)); done )", path=path)


def backup(path: str, keep: int) -> StringCommand:
    """Copy ``path`` to ``<path>.backup.<UTC stamp>`` and keep only the newest ``keep`` copies."""
    return _backed_up("cp -p", path, keep, "rm -f")


def backup_tree(path: str, keep: int, move: bool = False) -> StringCommand:
    """As ``backup``, for a directory (a code tree, a virtualenv): copied with ``cp -a``, or moved aside
    (``move``: the caller puts a new tree in its place)::

        backup_tree("/opt/voice_v2/venv", 2, move=True)   # -> /opt/voice_v2/venv.backup.20251101T101500.123456Z
    """
    return _backed_up("mv" if move else "cp -a", path, keep, "rm -rf")


def timed(snippet: str | StringCommand, seconds: int, step: str) -> StringCommand:
    """Run ``snippet`` under ``sh -c`` (it sees exported variables) for at most ``seconds``; a timeout
    fails naming ``step``, e.g. ``migration 004 rollback: timed out after 600s``."""
    return command(f"timeout {int(seconds)} sh -c {{snippet}}; rc=$?; if [ $rc -eq 124 ]; then "
                   "echo {message} >&2; fi; [ $rc -eq 0 ]", snippet=str(snippet),
                   message=f"{step}: timed out after {int(seconds)}s")


def http_ok(url: str, seconds: int, setting: str = "") -> StringCommand:
    """Succeed once ``url`` answers 200, polling every half second for at most ``seconds``; a 404 (the host
    does not serve it) fails at once. A failure says why on stderr, naming ``setting`` (the data key to
    change) when given::

        http_ok("http://127.0.0.1:8001/metrics", 30, "vision_metrics_url")
    """
    hint = f": is {setting} right?" if setting else ""
    return command("{{ ok=1; for i in $(seq {tries}); do code=$(curl -s -o /dev/null -w '%{{http_code}}' "
                   "--max-time 2 {url}); [ \"$code\" = 200 ] && {{ ok=0; break; }}; "
                   "[ \"$code\" = 404 ] && {{ echo {not_served} >&2; break; }}; sleep 0.5; done; "
                   "[ $ok = 0 ] || {{ [ \"$code\" = 404 ] || printf '%s did not answer 200 within %ss (last: %s; 000: no "
                   "answer)%s\\n' {url} {seconds} \"$code\" {hint} >&2; false; }}; }}",
                   tries=int(seconds) * 2, url=url, seconds=str(int(seconds)), hint=hint,
                   not_served=f"{url} answers 404: the service does not serve it{hint}")


def inside(path: str, root: str | None) -> StringCommand:
    """Fail unless the file ``path`` of an app (``root``: its folder; none: ``true``) resolves inside its own
    folder: a symlink leading elsewhere (``.env -> /etc/sudoers``) is refused on the host, in the command
    that writes it. Folders on the way may be links (teams mount config folders from elsewhere)::

        >>> print(inside("/opt/vision/.env", "/opt/vision"))  # doctest: +NORMALIZE_WHITESPACE
        r=$(realpath -m -- /opt/vision/.env) && d=$(realpath -m -- /opt/vision) && case "$r" in "$d"/*) ;; *) echo '/opt/vision/.env is a symlink leading out of its folder: refused' >&2; exit 1;; esac
    """
    if not root:
        return command("true")
    return command('r=$(realpath -m -- {path}) && d=$(realpath -m -- {folder}) && case "$r" in "$d"/*) ;; '
                   '*) echo {said} >&2; exit 1;; esac', path=path, folder=posixpath.dirname(path) or ".",
                   said=f"{path} is a symlink leading out of its folder: refused")


def file_inside(path: str) -> str:
    """A shell test for the commands that read an app's file: ``path`` is a file that resolves inside
    its own folder. A symlink leading out (``VERSION -> /etc/shadow``) reads as missing, so its target's
    content never reaches a fact, the output or history; the write that follows refuses it (``inside``)::

        >>> print(file_inside("/opt/vision/.env"))  # doctest: +NORMALIZE_WHITESPACE
        { [ -f /opt/vision/.env ] && case "$(realpath -m -- /opt/vision/.env)" in "$(realpath -m -- /opt/vision)"/*) true;; *) false;; esac; }
    """
    folder = posixpath.dirname(path) or "."
    return (f'{{ [ -f {q(path)} ] && case "$(realpath -m -- {q(path)})" in "$(realpath -m -- {q(folder)})"/*) true;; '
            '*) false;; esac; }')


def health_section(url: str, seconds: int) -> str:
    """``## health``, then the last HTTP code and body of ``url``, polled every half second for at most
    ``seconds`` until it answers 200 (the body through a ``mktemp`` file, never a guessable /tmp name)::

        >>> health_section("http://127.0.0.1:8000/health", 1).startswith("echo '## health'; t=$(mktemp)")
        True
    """
    return (f"echo '## health'; t=$(mktemp); for i in $(seq {int(seconds) * 2}); do "
            f"code=$(curl -s -o \"$t\" -w '%{{http_code}}' --max-time 2 {q(url)}); "
            f"[ \"$code\" = 200 ] && break; sleep 0.5; done; echo \"$code\"; cat \"$t\" 2>/dev/null; echo; rm -f \"$t\"")


def fail(message: str) -> StringCommand:
    """A command that fails with ``message`` on stderr (how a failed verification fails its operation)."""
    return command("echo {message} >&2; exit 1", message=message)
