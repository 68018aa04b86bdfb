"""A systemd service's main process as the host sees it, read from ``/proc``, never from what the
service says about itself: its pid, its start (epoch seconds, sub-second) and the managed keys of its
environment. One section of a ``SectionsFact``'s command, and its parse::

    section("search-api", ("SEARCH_RERANK_ENABLED",))
    # "echo '## process'; pid=$(systemctl show -p MainPID --value search-api ...); ... else echo stopped; fi"
    >>> parse(["running", "pid 812", "started 1733580000.125", "SEARCH_RERANK_ENABLED=false"])
    Process(pid=812, started=1733580000.125, env={'SEARCH_RERANK_ENABLED': 'false'})
    >>> parse(["stopped"]) is None
    True
"""

from dataclasses import dataclass

from .sections import key_values
from .shell import PROCESS_STARTED, q


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
