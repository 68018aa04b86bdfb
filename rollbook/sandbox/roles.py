"""Sandbox host roles: what each kind of host runs and which ports it publishes.

Adding a role: a recipe folder ``tests/sandbox/images/<image>/`` (Dockerfile plus
the files it bakes in, including ``/usr/local/sbin/sandbox-provision``), its entry
in ``images.PARENTS``, and one ``Role`` here. Example::

    ROLES["vision_worker"].group       # 'vision_workers'
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Role:
    name: str
    group: str  # the inventory group of its hosts (the system's group)
    image: str  # recipe name under tests/sandbox/images/
    ports: dict[str, int]  # service -> container port, published on a 127.0.0.1 port
    engine_socket: bool = False  # mount the engine's socket (the host runs docker compose)
    extra_images: tuple[str, ...] = ()  # images its compose project runs
    host_network: bool = False  # in the controller's network namespace (reaches 127.0.0.1 ports)
    provision_env: dict = field(default_factory=dict)  # extra environment of its provisioning
    host_data: dict = field(default_factory=dict)  # inventory data for its hosts


ROLES = {
    role.name: role
    for role in (
        Role(
            name="vision_worker",
            group="vision_workers",
            image="vision_worker",
            ports={"ssh": 22, "redis": 6379, "postgres": 5432, "worker": 8001},
            engine_socket=True,
            extra_images=("vision_app",),
        ),
        Role(
            name="analyticbot_api",
            group="analyticbot_api",
            image="analyticbot_api",
            ports={"ssh": 22, "postgres": 10100, "api": 10300},
        ),
        Role(
            name="analyticbot_api_compose",
            group="analyticbot_api",
            image="analyticbot_api",
            ports={"ssh": 22, "postgres": 10100, "api": 10300},
            engine_socket=True,
            extra_images=("analyticbot_app",),
            provision_env={"SANDBOX_API_UNIT": "compose"},
            host_data={"analyticbot_unit": "compose"},
        ),
        Role(
            name="voice_v2",
            group="voice_v2",
            image="voice_v2",
            ports={"ssh": 22, "api": 8000},
        ),
        Role(
            name="voice_v2_compose",
            group="voice_v2",
            image="voice_v2",
            # registry: the image registry a level 3 rollback pulls a missing image from (voice_image_registry)
            ports={"ssh": 22, "api": 8000, "registry": 5000},
            engine_socket=True,
            extra_images=("voice_v2_app", "voice_v2_app_stable"),
            provision_env={"SANDBOX_VOICE_UNIT": "compose"},
            host_data={"voice_unit": "compose"},
        ),
        Role(
            name="phase17_server",
            group="phase17_server",
            image="phase17_server",
            ports={"ssh": 22, "server": 8000},
        ),
        Role(
            name="control",
            group="control",
            image="control",
            ports={},
            host_network=True,
        ),
    )
}

DEFAULT_HOSTS = {"vision-1": "vision_worker", "analyticbot-1": "analyticbot_api",
                 "analyticbot-2": "analyticbot_api_compose", "voice-v2-1": "voice_v2",
                 "voice-v2-2": "voice_v2_compose", "control-1": "control",
                 "phase17-1": "phase17_server"}


def role(name: str) -> Role:
    from . import SandboxError

    if name not in ROLES:
        raise SandboxError(f"unknown role {name!r} (known: {', '.join(sorted(ROLES))})")
    return ROLES[name]
