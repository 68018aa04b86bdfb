"""Independent views of the sandbox hosts: testinfra over SSH, redis-py, psycopg, the docker
SDK and HTTP, each straight to the host's published 127.0.0.1 port. Nothing here uses
rollbook's facts or operations, so a green check means the host really is in that state.
"""

import hashlib
import urllib.request

import docker
import psycopg
import redis
import testinfra

from rollbook.sandbox.secrets import ensure_secrets
from rollbook.sandbox.state import known_hosts_path, root_key_path


def parse_metrics(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


class Probes:
    def __init__(self, state):
        self.state = state
        self.secrets = ensure_secrets()
        self.docker = docker.from_env()

    def ssh(self, name: str):
        """A testinfra host over the ssh binary, with strict host key checking."""
        port = self.state.host(name).port("ssh")
        return testinfra.get_host(
            f"ssh://root@127.0.0.1:{port}", ssh_identity_file=str(root_key_path()),
            ssh_extra_args=f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={known_hosts_path()}",
        )

    def file_text(self, name: str, path: str) -> str:
        return self.ssh(name).file(path).content_string

    def file_sha256(self, name: str, path: str) -> str:
        return hashlib.sha256(self.ssh(name).file(path).content).hexdigest()

    def redis(self, name: str) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.state.host(name).port("redis"), decode_responses=True)

    def postgres(self, name: str, dbname: str, user: str, password_key: str, service: str = "postgres"):
        return psycopg.connect(host="127.0.0.1", port=self.state.host(name).port(service), dbname=dbname,
                               user=user, password=self.secrets[password_key], autocommit=True)

    def http(self, name: str, service: str, path: str, headers: dict | None = None, timeout: float = 10):
        url = f"http://127.0.0.1:{self.state.host(name).port(service)}{path}"
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()

    def metrics(self, name: str, service: str = "worker") -> dict[str, float]:
        return parse_metrics(self.http(name, service, "/metrics")[1])

    def unit_env(self, name: str, unit: str) -> dict[str, str]:
        """The environment of a systemd unit's main process (``/proc/<pid>/environ`` over SSH)."""
        host = self.ssh(name)
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        return dict(line.split("=", 1) for line in environ.splitlines() if "=" in line)

    def compose_container(self, name: str, service: str):
        """The running container of a host's compose service (found by compose's own labels)."""
        host_container = self.docker.containers.get(self.state.host(name).container)
        found = [c for c in self.docker.containers.list(filters={"label": f"com.docker.compose.service={service}"})
                 if c.attrs["HostConfig"]["NetworkMode"] in (f"container:{host_container.name}",
                                                              f"container:{host_container.id}")]
        assert len(found) == 1, f"expected one running {service} for {name}, found {len(found)}"
        return found[0]

    def compose_env(self, name: str, service: str) -> dict[str, str]:
        env = self.compose_container(name, service).attrs["Config"]["Env"]
        return dict(item.split("=", 1) for item in env)
