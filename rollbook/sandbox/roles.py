"""Sandbox host roles: what each kind of host runs and which ports it publishes.

Adding a role: a recipe folder ``tests/sandbox/images/<image>/`` (Dockerfile plus
the files it bakes in, including ``/usr/local/sbin/sandbox-provision``), its entry
in ``images.PARENTS``, and one ``Role`` here. Example::

    ROLES["vision_worker"].group       # 'vision_workers'
"""

from dataclasses import dataclass, field, replace


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


def _compose(base: Role, extra_images: tuple[str, ...], unit_env: str, unit_key: str, **ports: int) -> Role:
    """``base`` with its service run by docker compose (``extra_images``) instead of systemd."""
    return replace(base, name=f"{base.name}_compose", ports={**base.ports, **ports}, engine_socket=True,
                   extra_images=extra_images, provision_env={unit_env: "compose"}, host_data={unit_key: "compose"})


_ANALYTICBOT = Role("analyticbot_api", "analyticbot_api", "analyticbot_api",
                    {"ssh": 22, "postgres": 10100, "api": 10300})
_VOICE = Role("voice_v2", "voice_v2", "voice_v2", {"ssh": 22, "api": 8000})
ROLES = {
    role.name: role
    for role in (
        Role("vision_worker", "vision_workers", "vision_worker",
             {"ssh": 22, "redis": 6379, "postgres": 5432, "worker": 8001},
             engine_socket=True, extra_images=("vision_app",)),
        _ANALYTICBOT,
        _compose(_ANALYTICBOT, ("analyticbot_app",), "SANDBOX_API_UNIT", "analyticbot_unit"),
        _VOICE,
        # registry: the image registry a level 3 rollback pulls a missing image from (voice_image_registry)
        _compose(_VOICE, ("voice_v2_app", "voice_v2_app_stable"), "SANDBOX_VOICE_UNIT", "voice_unit", registry=5000),
        Role("phase17_server", "phase17_server", "phase17_server", {"ssh": 22, "server": 8000}),
        Role("control", "control", "control", {}, host_network=True),
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
