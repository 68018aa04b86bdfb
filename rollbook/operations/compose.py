"""Compose operations, for hosts with ``docker compose`` (v2) or ``docker-compose`` (v1)."""

from pyinfra.api import operation

from ..envfile import shown
from ..report import announce
from ..shell import COMPOSE, q


@operation()
def recreated_when_env_differs(project_dir: str, service: str, running: dict[str, str] | None,
                               target: dict[str, str]):
    """
    Recreate ``service`` when its running container's environment differs from ``target``.

    ``docker compose restart`` does not re-read ``env_file``; a recreate does. Comparing
    the running container (not "did the file change in this run") also finishes the
    job of an earlier run that died between editing the file and recreating.

    + project_dir: the compose project's directory on the host
    + service: the compose service
    + running: the managed keys in the running container (None: not running)
    + target: the values the container must hold

    Example:

    .. code:: python

        compose.recreated_when_env_differs(name="Recreate the vision worker", project_dir="/opt/vision",
                                           service="worker", running=state.container, target=expected)
    """
    if running is not None:
        differing = [key for key, value in target.items() if running.get(key) != value]
        if not differing:
            return
        announce([f"{service}: running container holds {key}={shown(key, running.get(key))}"
                  for key in differing])
    else:
        announce([f"{service}: not running"])
    yield f"cd {q(project_dir)} && {COMPOSE} && $c up -d --force-recreate --no-deps {q(service)}"
