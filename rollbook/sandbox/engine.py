"""The docker engine: install Debian's ``docker.io`` when missing, start ``dockerd``.

There is no systemd on the controller, so ``dockerd`` is started in the
background with its log in the sandbox folder. Example::

    client = ensure_engine()      # a docker.DockerClient that answers
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound

from . import SandboxError
from .paths import sandbox_dir

DEBIAN_PACKAGES = ("docker.io", "debootstrap")
START_TIMEOUT = 60


def _client():
    try:
        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except DockerException:
        return None


def _install_packages():
    if os.geteuid() != 0:
        raise SandboxError("docker engine not installed and not root: apt-get install docker.io debootstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *DEBIAN_PACKAGES]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise SandboxError(f"could not install the docker engine ({' '.join(cmd)}): {last}")


def _start_dockerd():
    log_path = sandbox_dir() / "dockerd.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SandboxError(f"dockerd exited with {proc.returncode}: {tail[0]} (log: {log_path})")
        client = _client()
        if client:
            return client
        time.sleep(0.5)
    raise SandboxError(f"dockerd did not answer within {START_TIMEOUT}s (log: {log_path})")


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_NEEDED = 1024  # each systemd host holds several; the default 128 runs out near a dozen hosts


def ensure_host_limits():
    """Raise the controller's inotify instance limit so many systemd hosts can boot (root only)."""
    try:
        if int(INOTIFY_INSTANCES.read_text()) < INOTIFY_NEEDED:
            INOTIFY_INSTANCES.write_text(str(INOTIFY_NEEDED))
    except (OSError, ValueError) as error:
        raise SandboxError(f"fs.inotify.max_user_instances is below {INOTIFY_NEEDED} and cannot be raised "
                           f"({error}): sysctl -w fs.inotify.max_user_instances={INOTIFY_NEEDED}") from None


def exists(get, name: str) -> bool:
    """Whether the engine has ``name``: ``exists(client.images.get, tag)``, ``exists(client.containers.get, name)``."""
    try:
        get(name)
        return True
    except NotFound:
        return False


def ensure_engine():
    """Return a client of a running docker engine, installing and starting it if needed."""
    client = _client()
    if client:
        return client
    if not shutil.which("dockerd") or not shutil.which("debootstrap"):
        _install_packages()
    return _client() or _start_dockerd()
