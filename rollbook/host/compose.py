"""Shell for reading a compose service's running container (``docker compose`` or ``docker-compose``).

Example (inside a fact's command)::

    running_env_section("/opt/vision", "worker", ["VISION_PHASH_ENABLED"])
    # prints "## container", then "running" and KEY=value lines, or "stopped"
"""

from .shell import COMPOSE, q


def running_env_section(project_dir: str, service: str, keys, section: str = "container",
                        with_start: bool = False) -> str:
    """With ``with_start``, a ``started <epoch>`` line follows ``running``."""
    pattern = "|".join(sorted(keys))
    start = ("echo \"started $(date -d \"$(docker inspect -f '{{.State.StartedAt}}' \"$id\")\" +%s)\"; "
             if with_start else "")
    return (
        f"echo '## {section}'; "
        f"id=$(cd {q(project_dir)} 2>/dev/null && {COMPOSE} && $c ps -q {q(service)} 2>/dev/null | head -n 1); "
        f"if [ -n \"$id\" ] && [ \"$(docker inspect -f '{{{{.State.Running}}}}' \"$id\" 2>/dev/null)\" = true ]; then "
        f"echo running; {start}docker inspect -f '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' \"$id\" "
        f"| grep -E {q(f'^({pattern})=')} || true; else echo stopped; fi"
    )


def running_env(lines: list[str]) -> dict[str, str] | None:
    """The container section's values, or None when the service is not running."""
    from .sections import key_values

    if not lines or lines[0] != "running":
        return None
    return key_values(lines[1:])
