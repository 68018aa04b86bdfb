"""``rollbook serve``: the console under uvicorn, on 127.0.0.1 only (a reverse proxy or an SSH tunnel
brings people to it)::

    rollbook serve --config /etc/rollbook-console/console.toml     # http://127.0.0.1:8480/
    rollbook serve --config /etc/rollbook-console/console.toml --wait   # exit 0 once it answers
"""

import time
import urllib.request
from pathlib import Path

from .config import ConsoleConfig, ConsoleConfigError
from .users import UsersFileError

LISTEN = "127.0.0.1"
WAIT_SECONDS = 60


class ServeError(Exception):
    """The console cannot start: the message names the file and the problem."""


def app_of(config_path: Path):
    """The console's app for a settings file (what uvicorn serves)."""
    from .api import create_app
    from .pages import add_pages
    from .service import Console

    try:
        console = Console(ConsoleConfig.read(config_path))
    except (ConsoleConfigError, UsersFileError, OSError) as error:
        raise ServeError(str(error)) from None
    app = create_app(console)
    add_pages(app)
    return app


def serve(config_path: Path, port: int | None = None) -> int:
    import uvicorn

    app = app_of(config_path)
    console = app.state.console
    if console.config.collect_minutes:
        console.collect_every(console.config.collect_minutes)
    uvicorn.run(app, host=LISTEN, port=port or console.config.port, log_level="info",
                proxy_headers=False, server_header=False)
    return 0


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LISTEN}:{port}/login", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def wait_until_answering(config_path: Path, port: int | None = None) -> int:
    """``rollbook serve --wait``: exit 0 once the console of this settings file answers (its unit's
    ``ExecStartPost=``: the unit is active only when people can sign in); ServeError after ``WAIT_SECONDS``."""
    try:
        port = port or ConsoleConfig.read(config_path).port
    except ConsoleConfigError as error:
        raise ServeError(str(error)) from None
    deadline = time.monotonic() + WAIT_SECONDS
    while not _answers(port):
        if time.monotonic() > deadline:
            raise ServeError(f"the console does not answer on {LISTEN}:{port} after {WAIT_SECONDS} s")
        time.sleep(0.5)
    return 0
