"""A service's main process as the host sees it, never from what the service says about itself: a
systemd service's read from ``/proc`` (its pid, its start in epoch seconds, sub-second, and the managed
keys of its environment), a compose service's from ``docker inspect``: one section of a ``SectionsFact``'s
command (``section("search-api", ("SEARCH_RERANK_ENABLED",))``), and its parse::

    >>> parse(["running", "pid 812", "started 1733580000.125", "SEARCH_RERANK_ENABLED=false"])
    Process(pid=812, started=1733580000.125, env={'SEARCH_RERANK_ENABLED': 'false'})
    >>> parse(["stopped"]) is None
    True
"""

from dataclasses import dataclass

from .sections import key_values
from .shell import COMPOSE, PROCESS_STARTED, q


@dataclass
class Process:
    pid: int
    started: float  # epoch seconds
    env: dict[str, str]  # the managed keys its environment holds


def section(service: str, keys, name: str = "process") -> str:
    """``## <name>``: ``running``, ``pid``, ``started``, then ``KEY=value`` for each of ``keys`` in the main
    process's environment; or ``stopped``."""
    wanted = q(f"^({'|'.join(keys)})=")
    return (f"echo {q('## ' + name)}; pid=$(systemctl show -p MainPID --value {q(service)} 2>/dev/null); "
            f"if [ -n \"$pid\" ] && [ \"$pid\" != 0 ] && [ -r /proc/$pid/environ ]; then echo running; "
            f"echo \"pid $pid\"; {PROCESS_STARTED}; "
            f"tr '\\0' '\\n' < /proc/$pid/environ | grep -E {wanted} || true; else echo stopped; fi")


def container_section(project_dir: str, service: str, keys, name: str = "container", with_start: bool = False) -> str:
    """As ``section``, for a compose service's running container (with ``with_start``, a ``started <epoch>``
    line follows ``running``; no ``pid``)."""
    pattern = "|".join(sorted(keys))
    start = ("echo \"started $(date -d \"$(docker inspect -f '{{.State.StartedAt}}' \"$id\")\" +%s)\"; "
             if with_start else "")
    return (
        f"echo '## {name}'; "
        f"id=$(cd {q(project_dir)} 2>/dev/null && {COMPOSE} && $c ps -q {q(service)} 2>/dev/null | head -n 1); "
        f"if [ -n \"$id\" ] && [ \"$(docker inspect -f '{{{{.State.Running}}}}' \"$id\" 2>/dev/null)\" = true ]; then "
        f"echo running; {start}docker inspect -f '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' \"$id\" "
        f"| grep -E {q(f'^({pattern})=')} || true; else echo stopped; fi"
    )


def parse(lines: list[str]) -> Process | None:
    """The section's lines -> the process (None: stopped)."""
    if not lines or lines[0] != "running":
        return None
    values = dict(line.split(" ", 1) for line in lines[1:] if line.startswith(("pid ", "started ")))
    try:
        pid, started = int(values.get("pid", "0")), float(values.get("started", "0"))
    except ValueError:
        pid, started = 0, 0.0
    return Process(pid=pid, started=started, env=key_values([line for line in lines[1:] if "=" in line]))


def running_env(lines: list[str]) -> dict[str, str] | None:
    """The managed keys of the section's process (None: stopped)."""
    found = parse(lines)
    return found.env if found else None
