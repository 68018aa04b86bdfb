"""Enrolling a host as a team does (issue #22): its key recorded only once it matches the fingerprint
given, ``deploys/bootstrap.py`` as root, then an approved prod rollback through the ``rollbook`` user
with sudo. The host is made fresh first (no rollbook user, sudoers, marker or recorded key); every
check reads the host as root, not through rollbook."""

import subprocess
import sys

import pytest

from rollbook.sandbox import hosts
from rollbook.sandbox.state import APPROVER, approver_key_path, known_hosts_path, root_key_path, ssh_key_path

from .pyinfra_run import REPO, pyinfra

HOST = "vision-1"
PROD = "inventories/sandbox_prod.py"


def rollbook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def bootstrap(**extra) -> object:
    return pyinfra(PROD, "deploys/bootstrap.py", "--user", "root", "--key", str(root_key_path()), limit=HOST, **extra)


@pytest.fixture
def fresh(sandbox, probes):
    """vision-1 as a new machine: no rollbook account, sudoers, marker or upload folder, and its key
    not recorded on the controller. Back to a sandbox host afterwards."""
    root = probes.ssh(HOST)
    enabled = pyinfra("inventories/sandbox.py", "deploys/vision_enable.py", limit=HOST)
    assert enabled.returncode == 0, enabled.output
    root.run("userdel -r rollbook; rm -rf /etc/sudoers.d/rollbook /etc/rollbook /var/lib/rollbook-uploads")
    assert root.run("id rollbook").rc != 0
    known = known_hosts_path().read_text()
    port = probes.state.host(HOST).port("ssh")
    known_hosts_path().write_text("".join(line + "\n" for line in known.splitlines()
                                          if not line.startswith(f"[127.0.0.1]:{port} ")))
    yield root
    known_hosts_path().write_text(known)
    hosts.enroll([HOST], "sandbox", log=lambda *_: None)


def test_a_fresh_host_is_enrolled_by_the_bootstrap_deploy_and_takes_an_approved_prod_rollback(fresh, probes, tmp_path):
    root = fresh
    unknown = pyinfra(PROD, "deploys/vision_rollback.py", limit=HOST, dry=True)
    assert unknown.returncode != 0, "a host whose key is not recorded was reached"

    # what the admin reads on the machine's console (here: through the engine, not SSH)
    container = probes.docker.containers.get(probes.state.host(HOST).container)
    fingerprint = container.exec_run(["ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub"]).output.split()[1].decode()
    before = known_hosts_path().read_text()
    wrong = rollbook("trust-host", PROD, HOST, "--fingerprint", "SHA256:" + "A" * 43)
    assert wrong.returncode == 1 and "offers no key with fingerprint" in wrong.stderr, wrong.stderr
    assert known_hosts_path().read_text() == before
    trusted = rollbook("trust-host", PROD, HOST, "--fingerprint", fingerprint)
    assert trusted.returncode == 0 and "recorded" in trusted.stdout, trusted.stderr

    enrolled = bootstrap()
    assert enrolled.returncode == 0, enrolled.output
    again = bootstrap()
    assert again.returncode == 0 and again.changed == set(), again.changed

    assert root.check_output("cat /etc/rollbook/environment") == "prod"
    assert root.check_output("stat -c '%U %a' /etc/sudoers.d/rollbook") == "root 440"
    assert root.run("visudo -c").rc == 0
    assert root.check_output("cat /home/rollbook/.ssh/authorized_keys").strip() == \
        ssh_key_path().with_suffix(".pub").read_text().strip()
    assert root.check_output("stat -c '%U %a' /var/lib/rollbook-uploads/rollbook") == "rollbook 700"

    data = {"vision_waves": "b", "vision_ignore_experiments": "true"}
    out = tmp_path / "approval.json"
    args = ["approve", PROD, "deploys/vision_rollback.py", "--approver", APPROVER, "--key", str(approver_key_path()),
            "--reason", "INC-1 first run on a new host", "--hours", "1", "--out", str(out), "--limit", HOST, "--yes"]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    approved = rollbook(*args)
    assert approved.returncode == 0, approved.stderr
    run = pyinfra(PROD, "deploys/vision_rollback.py", limit=HOST, data={**data, "approval": str(out)})
    assert run.returncode == 0, run.output
    assert probes.compose_env(HOST, "worker")["VISION_PHASH_ENABLED"] == "false"
    owner = root.check_output("stat -c '%U %a' /var/lib/rollbook/history.jsonl")
    assert owner == "root 600", owner  # written through sudo
    records = root.check_output("cat /var/lib/rollbook/history.jsonl")
    assert '"event":"enrolled"' in records and '"approver":"' + APPROVER + '"' in records
