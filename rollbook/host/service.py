"""Apply a new configuration to a running service so that the process really sees it, and put the
old one back when the service does not start on the new one. The decision compares the *running*
process with the target, so a run killed between edit and restart is finished by the next one."""

from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import operation
from pyinfra.api.command import StringCommand

from ..core.report import announce
from . import loaders
from .command import command, joined, program
from .scripts import source
from .envfile import read_keys, shown
from .shell import COMPOSE, STAMP


@dataclass(frozen=True)
class Restore:
    """When the service does not get ready after the restart: put back this run's first copy of ``env_file``
    and of each path in ``also`` (never an older run's), restart, check it is ready and holds the env file's
    ``keys``, and leave ``marker`` (history: ``restored``)::

        Restore(env_file="/srv/phase17/server.env", keys=("STREAMING_ENABLED",), marker=m, started=s,
                also=("/srv/phase17/server/app/main.py",))
    """

    env_file: str  # '' when the run changes no env file
    keys: tuple[str, ...]  # none: no environment to compare (a code file)
    marker: str
    started: str  # the file holding the run's start stamp
    also: tuple[str, ...] = ()  # code trees, virtualenvs

    @classmethod
    def of_run(cls, run, env_file: str, keys, also=()) -> "Restore":
        """With ``run``'s markers (a pipeline HostRun): ``Restore.of_run(ctx.run, "/opt/app/.env", {"A": "1"})``."""
        return cls(env_file=env_file, keys=tuple(sorted(keys)), marker=run.restored_marker,
                   started=run.started_marker, also=tuple(also))


def reasons(running: dict[str, str] | None, target: dict[str, str], stale_code: bool = False, public=()) -> list[str]:
    """Why a process holding ``running`` (None: not running) must restart to hold ``target``."""
    if running is None:
        return ["not running"]
    reasons = [f"running process holds {key}={shown(key, running.get(key), public)}"
               for key, value in target.items() if running.get(key) != value]
    if stale_code:
        reasons.append("running process started before its code last changed")
    return reasons


def restart_command(unit: str, service: str, project_dir: str, build: bool = False) -> StringCommand:
    """``systemctl restart``, or a compose recreate (``restart`` would not re-read ``env_file``) on the image
    the service has; with ``build`` (its code changed) built first when the service has a ``build:`` (the
    runbook's ``docker-compose build && docker-compose up -d``). Without it nothing is built or re-tagged."""
    if unit == "compose":
        return command("cd {project} && {compose} && $c up -d{build} --force-recreate --no-deps {service}",
                       project=project_dir, compose=program(COMPOSE), service=service,
                       build=program(" --build" if build else ""))
    return command("systemctl daemon-reload && systemctl restart {service}", service=service)


LOG_LINES = 30  # the service's recent log lines a failed or restored run keeps (history, incident report)
LOG_SECONDS = 15  # the most reading them may take (a hung docker or journald must not hold the failure's record)
_MASK = f"{Path(loaders.__file__).read_text()}\n{source('mask_log')}\nmain(seen_by)\n"


def log_tail_command(unit: str, service: str, project_dir: str, env_files, public=(),
                     lines: int = LOG_LINES) -> StringCommand:
    """The service's last ``lines`` log lines (journald, or ``compose logs``), every value of the
    ``env_files`` (a path or several: the env file and where its values come from) that is not one of the
    ``public`` keys masked on the host (``scripts/mask_log.py``); what a failed or restored run records
    (``Stages.logs``)::

        >>> str(log_tail_command("systemd", "api", "", "/opt/api/.env"))[:62]
        "{ timeout 15 journalctl -u api -n 30 --no-pager -o short-iso; "
    """
    if unit == "compose":
        logs = command("cd {project} && {compose} && timeout {seconds} $c logs --no-color --tail {lines} {service}",
                       project=project_dir, compose=program(COMPOSE), lines=int(lines), service=service,
                       seconds=LOG_SECONDS)
    else:
        logs = command("timeout {seconds} journalctl -u {service} -n {lines} --no-pager -o short-iso",
                       service=service, lines=int(lines), seconds=LOG_SECONDS)
    files = [env_files] if isinstance(env_files, str) else list(env_files)
    return command("{{ {logs}; }} 2>&1 | tail -n {lines} | python3 -c {mask} {public} {kind} {env_files}", logs=logs,
                   lines=int(lines), mask=_MASK, public=",".join(sorted(public)),
                   kind="compose" if unit == "compose" else "systemd", env_files=":".join(files))


def running_keys_command(unit: str, service: str, project_dir: str, keys) -> StringCommand:
    """Print the running process's ``KEY=value`` lines for ``keys``, sorted."""
    if unit == "compose":
        env = command("id=$(cd {project} && {compose} && $c ps -q {service} | head -n 1); "
                      "docker inspect -f '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' \"$id\"",
                      project=project_dir, compose=program(COMPOSE), service=service)
    else:
        env = command("pid=$(systemctl show -p MainPID --value {service}); tr '\\0' '\\n' < /proc/$pid/environ",
                      service=service)
    return command("{{ {env}; }} 2>/dev/null | grep -E {pattern} | sort", env=env,
                   pattern=f"^({'|'.join(sorted(keys))})=")


def this_runs_backup(env_file: str, started: str) -> StringCommand:
    """Set ``$b`` to the oldest ``<env_file>.backup.<UTC stamp>`` stamped at or after the run's start (in
    ``started``), the file as it was before the run; else empty (never an older run's backup)."""
    return command('start=$(cat {started} 2>/dev/null); b=; for f in {path}.backup.*; do [ -e "$f" ] || continue; '
                   's=${{f##*.backup.}}; [ -n "$start" ] && [ "$(printf \'%s\\n%s\\n\' "$start" "$s" | sort | head -n 1)" = '
                   '"$start" ] && {{ b=$f; break; }}; done', started=started, path=env_file)


def _put_back(path: str, started: str) -> StringCommand:
    """Put ``path`` back from this run's first copy (a tree with ``cp -a``), what failed kept aside."""
    return command(
        '{pick}; if [ -n "$b" ]; then '
        'if [ -d "$b" ]; then {{ [ ! -e {path} ] || mv {path} {path}.failed.{stamp}; }} && cp -a "$b" {path} || exit 1; '
        'else cp -p {path} {path}.failed.{stamp} && cp -p "$b" {path} || exit 1; fi; '
        'printf \'restored %s from %s\\n\' {path} "$b" >&2; restored="$restored $b"; fi; ',
        pick=this_runs_backup(path, started), path=path, stamp=program(STAMP))


def restore_command(unit: str, service: str, project_dir: str, ready: str | StringCommand,
                    restore: Restore) -> StringCommand:
    """The shell run when ``service`` is not ready after the restart (always exits non-zero)."""
    files = tuple(path for path in (restore.env_file, *restore.also) if path)
    compared = command(
        'if [ "$({running})" != "$({loaded} | grep -v \'^!\' | sort)" ]; then '
        "printf '%s restarted on the restored %s but its environment differs from it: fix by hand\\n' "
        "{service} {env} >&2; exit 1; fi; ",
        running=running_keys_command(unit, service, project_dir, restore.keys),
        loaded=program(read_keys(restore.env_file, restore.keys)), service=service,
        env=restore.env_file) if restore.keys else program("")
    named = " and ".join(files)
    return command(
        "echo {restoring} >&2; restored=; {put_back}"
        'if [ -z "$restored" ]; then echo {nothing} >&2; exit 1; fi; '
        "if ! {{ {restart} && {ready}; }} >/dev/null 2>&1; then "
        "printf '%s did not get ready on the restored%s either: fix by hand\\n' {service} \"$restored\" >&2; exit 1; fi; "
        "{compared}"
        'mkdir -p "$(dirname {marker})" && echo $restored > {marker}; '
        "printf '%s is ready on the restored%s%s\\n' {service} \"$restored\" {holds} >&2; exit 1",
        restoring=f"{service} did not get ready with the new {named}: restoring the previous one",
        put_back=joined((_put_back(path, restore.started) for path in files), ""),
        nothing=f"no backup of {named} made by this run (it did not change them): nothing to restore; fix by hand",
        restart=restart_command(unit, service, project_dir), ready=program(ready), service=service,
        compared=compared, marker=restore.marker, holds=" and holds its values" if restore.keys else "")


@operation()
def restarted(unit: str, service: str, project_dir: str, reasons: list[str], ready: str = "",
              restore: Restore | None = None, build: bool = False):
    """Restart a systemd unit, or recreate a compose service (``unit``: systemd | compose), when ``reasons``
    (why the running process differs from the target) is not empty; then wait until ``ready`` (shell,
    ``shell.http_ok``; empty: no wait) succeeds; if it does not, ``restore`` and fail. A compose service's image
    is built first only with ``build`` (its code changed). Example::

        service.restarted(name="Restart voice-v2-service", unit="systemd", service="voice-v2-service", project_dir="",
                          reasons=["running code differs"], ready=http_ok("http://127.0.0.1:8000/health", 30))
    """
    if not reasons:
        return
    announce([f"{service}: {reason}" for reason in reasons])
    restart = restart_command(unit, service, project_dir, build)
    if not ready:
        yield restart
    elif restore is None:
        yield command("{restart} && {{ {ready} || {{ echo {message} >&2; false; }}; }}", restart=restart,
                      ready=program(ready), message=f"{service} did not get ready after the restart")
    else:
        yield command("if {restart} && {ready}; then :; else {restore}; fi", restart=restart, ready=program(ready),
                      restore=restore_command(unit, service, project_dir, ready, restore))


@operation()
def restarted_when_stale(unit: str, service: str, project_dir: str, running: dict[str, str] | None,
                         target: dict[str, str], stale_code: bool = False, ready: str = "",
                         restore: Restore | None = None, public=()):
    """``restarted`` when the process is not running (``running`` None), does not hold ``target``, or
    started before the app's current code (``stale_code``, which also builds a compose service's image first);
    the reasons show the values of ``public`` keys only. Example::

        service.restarted_when_stale(name="Restart analyticbot-api", unit="systemd", service="analyticbot-api",
                                     project_dir="", running=state.running, target={"ENABLE_TIME_WEIGHTING": "false"})
    """
    yield from restarted._inner(unit, service, project_dir, reasons(running, target, stale_code, public), ready,
                                restore, build=stale_code)
