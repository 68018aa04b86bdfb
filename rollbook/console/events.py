"""A run as a stream of events, read from its stored output and its record until it ends::

    async for kind, payload in run_events(console, run_id, start=0):
        ...   # ("host", {"host": "vision-1", "status": "running"}), ("output", {"line": "..."}),
              # and last ("status", {"status": "succeeded"})
"""

import asyncio
import html

from ..cli.approve import escaped
from .store import FINAL

POLL_SECONDS = 0.25
CHUNK = 64 * 1024


def shown_line(raw: bytes) -> str:
    """One output line as a page may show it: decoded, control characters escaped (no terminal sequence
    from a host acts), HTML-escaped by whoever renders it."""
    return escaped(raw.decode(errors="replace").rstrip("\r\n"))


async def run_events(console, run_id: str, start: int = 0):
    """(kind, payload) for every host status change and output line of the run, then its final status."""
    offset, hosts, pending = start, {}, b""
    while True:
        run = console.run(run_id)
        for host, status in (run["host_status"] or {}).items():
            if hosts.get(host) != status:
                hosts[host] = status
                yield "host", {"host": host, "status": status}
        path = console.output(run)
        if path is not None:
            with open(path, "rb") as handle:
                handle.seek(offset)
                while chunk := handle.read(CHUNK):
                    offset += len(chunk)
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        yield "output", {"line": shown_line(line)}
        if run["status"] in FINAL:
            if pending:
                yield "output", {"line": shown_line(pending)}
            yield "status", {"status": run["status"]}
            return
        await asyncio.sleep(POLL_SECONDS)


def html_of(kind: str, payload: dict) -> str:
    """An event as the run page's htmx SSE swap inserts it (one line of HTML, everything escaped): an output
    line, or a host's or the run's status."""
    if kind == "output":
        return f'<div class="line">{html.escape(payload["line"])}</div>'
    return f'<span class="status {html.escape(payload["status"])}">{html.escape(payload["status"])}</span>'
