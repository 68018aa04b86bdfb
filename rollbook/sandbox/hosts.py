"""Start, stop and describe the sandbox hosts.

Each host is a container booted with systemd as PID 1 (the capabilities and
mounts below, never ``--privileged``), its sshd published on a 127.0.0.1 port,
reached with the sandbox's own key and checked against the sandbox known_hosts.
Example::

    state = up({"vision-1": "vision_worker"})    # keeps running hosts, creates missing ones
    down()                                       # removes every sandbox container
"""

import hashlib
import io
import socket
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from docker.errors import APIError, NotFound

from . import SandboxError
from .engine import ensure_engine, ensure_host_limits, exists
from .images import ensure_image
from .paths import REPO, sandbox_dir
from .roles import DEFAULT_HOSTS, role
from .s3 import ensure_bucket, ensure_s3, stop_s3
from .secrets import ensure_secrets
from ..pipeline.record import SCRIPT_DIGEST, script_path
from .state import (APPROVER, OPERATOR, SandboxHost, State, allowed_signers_path, approver_key_path, known_hosts_path,
                    load, rollbook_authorized_keys_path, root_key_path, save, ssh_key_path, state_path)

LABEL = "rollbook.sandbox"  # on host containers (value: the sandbox that owns them, ``owner()``); compose
# services of a host carry LABEL + ".host" (value: the host's container name)
BOOT_TIMEOUT = 180
S3_BUCKET = "vision"  # the vision result cache's bucket (group data: vision_s3_bucket)
PROVISIONED = "/etc/sandbox-provisioned"  # inside a host: provisioning finished
ENROLLMENT = "/etc/rollbook/environment"  # inside a host: the environment it is enrolled in
HOST_STATE_DIR = "/var/lib/rollbook"  # inside a host: rollbook_state_dir (group data, every environment)
# the inventory each environment's sandbox hosts are enrolled through (deploys/bootstrap.py)
INVENTORIES = {"sandbox": "inventories/sandbox.py", "prod": "inventories/sandbox_prod.py"}
SYSTEMD_RUN = dict(
    cap_add=["SYS_ADMIN", "NET_ADMIN"],
    security_opt=["seccomp=unconfined", "apparmor=unconfined"],
    tmpfs={"/run": "", "/run/lock": ""},
    cgroupns="host",
)


def owner() -> str:
    """The sandbox folder's own mark: its containers' names and labels carry it, so that two sandboxes (a
    checkout's, a CI clone's, the benchmark's) never take each other's hosts::

        container_name("vision-1")     # 'rollbook-3f2a9c01-vision-1'
    """
    return hashlib.sha256(str(sandbox_dir().resolve()).encode()).hexdigest()[:8]


def container_name(host: str) -> str:
    return f"rollbook-{owner()}-{host}"


def ensure_approver(operator_pubkey: str):
    """The sandbox's approver key and its allowed-signers file (``group_data/sandbox_prod.py`` names
    it): the approver, and the operator's own key under its own principal (so that a self-approval
    is recognised by principal as in production)."""
    key = approver_key_path()
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", APPROVER, "-f", str(key)], check=True)
    from .console import allowed_signer_line, ensure_console

    ensure_console()
    lines = [f"{APPROVER} {key.with_suffix('.pub').read_text().strip()}",
             f"{OPERATOR} {operator_pubkey.strip()}", allowed_signer_line()]
    allowed_signers_path().write_text("".join(line + "\n" for line in lines))


def _ensure_ssh_key(key, comment: str) -> str:
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True)
    return key.with_suffix(".pub").read_text()


def ensure_keys() -> tuple[str, str]:
    """The sandbox's two key pairs, (root's public key, rollbook's public key): root's reaches the hosts as
    root (self-service runs, probes, enrollment); rollbook's is the only one ``deploys/bootstrap.py``
    authorizes for the ``rollbook`` user (``rollbook_authorized_keys``)."""
    root = _ensure_ssh_key(root_key_path(), "rollbook-sandbox-root")
    operator = _ensure_ssh_key(ssh_key_path(), "rollbook-sandbox")
    rollbook_authorized_keys_path().write_text(operator)
    return root, operator


def _put_file(container, path: str, content: str, mode=0o600):
    directory, _, name = path.rpartition("/")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = content.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
    container.reload()  # the status it had when this object was made may be stale (created -> running)
    if container.status == "running":
        container.exec_run(["mkdir", "-p", "-m", "700", directory])
    container.put_archive(directory, buffer.getvalue())


def _exec(container, cmd, what: str, environment=None) -> str:
    code, output = container.exec_run(cmd, environment=environment)
    text = output.decode(errors="replace").strip()
    if code != 0:
        last = (text.splitlines() or ["no output"])[-1]
        raise SandboxError(f"{what} failed on {container.name} (exit {code}): {last}")
    return text


def _wait_booted(container, fresh: bool = True):
    """Wait until systemd has finished booting. A fresh host must boot clean (a degraded boot fails
    naming the failed units); a kept one may have failed units of its own workload."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    status = "nothing"
    while time.monotonic() < deadline:
        status = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
        if status in ("running", "degraded", "maintenance", "stopping"):
            break
        time.sleep(0.5)  # initializing, starting, offline (systemd not up yet), or no bus yet
    if status != "running" and (fresh or status not in ("degraded", "maintenance")):
        failed = container.exec_run(["systemctl", "--failed", "--plain", "--no-legend"]).output.decode().split()
        units = [word for word in failed if "." in word]
        raise SandboxError(f"{container.name} booted {status!r} after up to {BOOT_TIMEOUT}s; "
                           f"failed units: {', '.join(units) or 'none'}")


def sandbox_identity(pubkey: str) -> str:
    """Names the sandbox (its key pair): a host made for another checkout's sandbox is recreated."""
    return hashlib.sha256(pubkey.encode()).hexdigest()[:16]


def _create(client, name: str, host_role, tag: str, identity: str):
    outer = sandbox_dir() / "hosts" / name
    outer.mkdir(parents=True, exist_ok=True)
    volumes = {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
               str(outer): {"bind": "/srv/sandbox-outer", "mode": "rw"}}
    if host_role.engine_socket:
        volumes["/var/run/docker.sock"] = {"bind": "/run/docker.sock", "mode": "rw"}
    labels = {LABEL: owner(), f"{LABEL}.role": host_role.name, f"{LABEL}.identity": identity,
              f"{LABEL}.images": _extra_tags(client, host_role)}
    if host_role.host_network:
        # shares the controller's loopback, so it reaches every host's published port; its own sshd
        # listens on 127.0.0.1 only, on a free port written before the first boot
        port = _free_port()
        labels[f"{LABEL}.ssh_port"] = str(port)
        container = client.containers.create(tag, name=container_name(name), detach=True, volumes=volumes,
                                             network_mode="host", labels=labels, **SYSTEMD_RUN)
        _put_file(container, "/etc/ssh/sshd_config.d/listen.conf", f"Port {port}\nListenAddress 127.0.0.1\n", 0o644)
        container.start()
        return container
    for attempt in range(3):
        try:
            return client.containers.run(
                tag, name=container_name(name), hostname=name, detach=True, volumes=volumes,
                # fixed host ports: a host stopped and started again (a lost host coming back) keeps its address
                ports={f"{port}/tcp": ("127.0.0.1", _free_port()) for port in host_role.ports.values()},
                labels=labels, **SYSTEMD_RUN,
            )
        except APIError as error:  # a port another process took between the choice and the bind: choose again
            if "port is already allocated" not in str(error) or attempt == 2:
                raise
            client.containers.get(container_name(name)).remove(force=True)


def _extra_tags(client, host_role) -> str:
    """The tags of the images a host's compose project runs (a new one re-creates the host)."""
    return ",".join(ensure_image(client, image) for image in host_role.extra_images)


def _provision(client, container, name: str, host_role, secrets: dict):
    environment = {**secrets, **host_role.provision_env, "SANDBOX_HOST": name, "SANDBOX_CONTAINER": container.name,
                   "SANDBOX_OUTER_DIR": str(sandbox_dir() / "hosts" / name), "SANDBOX_LABEL": f"{LABEL}.host"}
    for image in host_role.extra_images:
        environment[f"SANDBOX_IMAGE_{image.upper()}"] = ensure_image(client, image)
    _exec(container, ["/usr/local/sbin/sandbox-provision"], "provisioning", environment)


def _published_ports(container, host_role) -> dict[str, int]:
    container.reload()
    if host_role.host_network:
        return {"ssh": int(container.labels[f"{LABEL}.ssh_port"])}
    published = container.attrs["NetworkSettings"]["Ports"]
    return {service: int(published[f"{port}/tcp"][0]["HostPort"]) for service, port in host_role.ports.items()}


_handed_out: set[int] = set()  # ports given to hosts by this process: hosts start in parallel
_handing_out = threading.Lock()


def _free_port() -> int:
    """A free 127.0.0.1 port no other host of this process was given (the kernel may hand a port just
    released to the next bind, and hosts are created in parallel)."""
    with _handing_out:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port


def _host_data(host_role) -> dict:
    return dict(host_role.host_data)


def _remove_host(client, container, log=None):
    """Remove a host container and the compose services that run in its network namespace."""
    for service in client.containers.list(all=True, filters={"label": f"{LABEL}.host={container.name}"}):
        if log:
            log(f"removing {service.name}")
        service.remove(force=True)
    if log:
        log(f"removing {container.name}")
    container.remove(force=True)


def _bring_up(client, name: str, role_name: str, pubkey: str, secrets: dict, reset: bool,
              log) -> tuple[SandboxHost, str | None]:
    """Start (or keep) one host; and the environment it must be enrolled in (``_to_enroll``), if any."""
    host_role = role(role_name)
    identity = sandbox_identity(pubkey)
    tag = ensure_image(client, host_role.image, log)
    try:
        container = client.containers.get(container_name(name))
        current = (tag in container.image.tags  # one image may carry several recipe tags
                   and container.labels.get(f"{LABEL}.images", "") == _extra_tags(client, host_role))
        ours = container.labels.get(f"{LABEL}.identity") == identity
        if reset or not current or not ours or container.status != "running":
            _remove_host(client, container)  # a stopped host (engine restarted) starts afresh
            container = None
    except NotFound:
        container = None
    fresh = container is None
    if fresh:
        log(f"starting {name} ({role_name})")
        container = _create(client, name, host_role, tag, identity)
    _wait_booted(container, fresh)
    provisioned = container.exec_run(["test", "-f", PROVISIONED]).exit_code != 0
    if provisioned:
        _put_file(container, "/root/.ssh/authorized_keys", pubkey)
        try:
            _provision(client, container, name, host_role, secrets)
        except SandboxError:
            _remove_host(client, container)  # half-provisioned: the next `up` starts it afresh
            raise
        _exec(container, ["touch", PROVISIONED], "marking provisioned")
    return SandboxHost(name=name, role=role_name, group=host_role.group, container=container.name,
                       ports=_published_ports(container, host_role), data=_host_data(host_role)), _to_enroll(container)


def _to_enroll(container) -> str | None:
    """The environment a host must be enrolled in (again): ``sandbox`` when it never was, its own when its
    host script is not this rollbook's; None when it is enrolled and current."""
    script = script_path(HOST_STATE_DIR)
    check = (f"if test -s {ENROLLMENT} && id -u rollbook >/dev/null 2>&1; then "
             f"if [ \"$(sha256sum < {script} 2>/dev/null | cut -c1-64)\" = {SCRIPT_DIGEST} ]; then echo current; "
             f"else cat {ENROLLMENT}; fi; else echo none; fi")
    said = container.exec_run(["sh", "-c", check]).output.decode().strip()
    if said == "current":
        return None
    return said if said in INVENTORIES else "sandbox"  # never enrolled, or in no sandbox environment


def enroll(names: list[str], environment: str, log=print):
    """Enroll sandbox hosts in ``environment`` as a team enrolls a real host: ``deploys/bootstrap.py``
    through that environment's sandbox inventory, as root (the rollbook user, its key, sudo checked
    with visudo, the environment marker)::

        enroll(["vision-1"], "prod")   # now only inventories/sandbox_prod.py may run there
    """
    if environment not in INVENTORIES:
        raise SandboxError(f"no sandbox environment {environment!r} (known: {', '.join(INVENTORIES)})")
    if not names:
        return
    load().host(names[0])  # an unknown name fails before anything runs
    cmd = [str(Path(sys.executable).with_name("pyinfra")), "-y", "--user", "root", "--key", str(root_key_path())]
    for name in names:
        cmd += ["--limit", name]
    done = subprocess.run(cmd + [INVENTORIES[environment], "deploys/bootstrap.py"], cwd=REPO,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        said = [line.strip() for line in done.stderr.splitlines() if "error" in line.lower() or "refused" in line]
        raise SandboxError(f"enrolling {', '.join(names)} as {environment} failed: "
                           f"{(said or done.stderr.strip().splitlines() or ['no output'])[-1]}")
    for name in names:
        log(f"{name} enrolled as {environment}")


def _known_hosts_line(client, host: SandboxHost, previous: str) -> str:
    container = client.containers.get(host.container)
    if container.status != "running":  # a stopped host keeps the key it had
        prefix = f"[127.0.0.1]:{host.port('ssh')} "
        return "".join(line + "\n" for line in previous.splitlines() if line.startswith(prefix))
    key = _exec(container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], "reading the host key")
    key_type, key_data = key.split()[:2]
    return f"[127.0.0.1]:{host.port('ssh')} {key_type} {key_data}\n"


def up(hosts: dict[str, str] | None = None, reset: bool = False, log=print) -> State:
    """Bring the sandbox hosts ``{name: role}`` up and return the state written for them."""
    hosts = hosts or DEFAULT_HOSTS
    for role_name in hosts.values():
        role(role_name)  # bad input fails before anything starts
    client = ensure_engine()
    ensure_host_limits()
    pubkey, operator_pubkey = ensure_keys()
    ensure_approver(operator_pubkey)
    secrets = ensure_secrets()
    previous = load() if state_path().exists() else State()
    s3_endpoint = ensure_s3(previous.s3_endpoint)
    ensure_bucket(s3_endpoint, S3_BUCKET, secrets["S3_ACCESS_KEY_ID"], secrets["S3_SECRET_ACCESS_KEY"])
    for role_name in sorted(set(hosts.values())):  # build images once, before the parallel start
        ensure_image(client, role(role_name).image, log)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(_bring_up, client, name, role_name, pubkey, secrets, reset, log)
                   for name, role_name in hosts.items()]
        results = [future.result() for future in futures]
    started = [host for host, _ in results]
    # the other hosts stay, stopped ones included (a host lost for a while keeps its ports and key)
    kept = [host for host in previous.hosts if host.name not in hosts and exists(client.containers.get, host.container)]
    state = State(hosts=kept + started, s3_endpoint=s3_endpoint)
    previous_keys = known_hosts_path().read_text() if known_hosts_path().exists() else ""
    known_hosts_path().write_text("".join(_known_hosts_line(client, host, previous_keys) for host in state.hosts))
    save(state)
    for environment in sorted({wanted for _, wanted in results if wanted}):
        enroll([host.name for host, wanted in results if wanted == environment], environment, log=log)
    return state


def down(log=print):
    """Remove this sandbox's containers (its hosts and their compose services; another sandbox folder's
    stay) and stop its S3 endpoint."""
    client = ensure_engine()
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}={owner()}"}):
        _remove_host(client, container, log)
    stop_s3()
    state_path().unlink(missing_ok=True)


def remove(names: list[str], log=print):
    """Remove the named hosts (and their compose services) and drop them from the state."""
    client = ensure_engine()
    for name in names:
        try:
            container = client.containers.get(container_name(name))
        except NotFound:
            continue
        _remove_host(client, container, log)
    if state_path().exists():
        state = load()
        state.hosts = [host for host in state.hosts if host.name not in names]
        save(state)


def status() -> list[str]:
    """One line per sandbox host: name, role, container status, published ports."""
    state = load()
    client = ensure_engine()
    lines = []
    for host in state.hosts:
        try:
            container_status = client.containers.get(host.container).status
        except NotFound:
            container_status = "missing"
        ports = " ".join(f"{service}=127.0.0.1:{port}" for service, port in host.ports.items())
        lines.append(f"{host.name:<16} {host.role:<24} {container_status:<8} {ports}")
    lines.append(f"s3               {state.s3_endpoint}")
    return lines

