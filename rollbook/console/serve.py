"""``rollbook serve``: the console under uvicorn, on 127.0.0.1 only (a reverse proxy or an SSH tunnel
brings people to it)::

    rollbook serve --config /etc/rollbook-console/console.toml     # http://127.0.0.1:8480/
"""

from pathlib import Path

from .config import ConsoleConfig, ConsoleConfigError
from .users import UsersFileError

LISTEN = "127.0.0.1"


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
