"""The sandbox itself: hosts booted with systemd, reached over SSH with strict host keys,
grouped as the inventory says, with the services the roles promise."""

import json
import re
import subprocess
import sys

import boto3
import pytest

from rollbook.sandbox import hosts
from rollbook.sandbox.state import known_hosts_path

from .pyinfra_run import PYINFRA, REPO, pyinfra


def test_every_host_boots_systemd_and_is_reached_with_strict_host_keys(sandbox, probes):
    for host in sandbox.hosts:  # a drift found fails the timer's oneshot check on purpose (tests/e2e/test_prod.py)
        probes.ssh(host.name).run("systemctl reset-failed 'rollbook-drift@*' 2>/dev/null || true")
    run = pyinfra("inventories/sandbox.py", "exec", "--", "systemctl", "is-system-running", json_output=False)
    assert run.returncode == 0, run.output
    for host in sandbox.hosts:
        assert re.search(rf"\[{re.escape(host.name)}\]\s+running$", run.output, re.M), run.output
        assert probes.ssh(host.name).check_output("systemctl is-system-running") == "running"
        assert probes.ssh(host.name).process.get(pid=1).comm == "systemd"


def test_a_wrong_host_key_is_refused(sandbox):
    saved = known_hosts_path().read_text()
    try:
        known_hosts_path().write_text(saved.replace("AAAA", "AAAB", 1))
        first = sandbox.hosts[0].name
        run = pyinfra("inventories/sandbox.py", "exec", "--", "true", json_output=False, limit=first)
        assert run.returncode != 0
        assert "host key" in run.output.lower() or "ssh error" in run.output.lower()
    finally:
        known_hosts_path().write_text(saved)


def test_inventory_groups_each_host_in_its_system_and_environment_group(sandbox):
    done = subprocess.run([PYINFRA, "inventories/sandbox.py", "debug-inventory", "--json"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    text = json.dumps(inventory)
    for host in sandbox.hosts:
        assert host.name in text
    assert "vision_workers" in text and "analyticbot_api" in text and "sandbox" in text


def test_systemd_units_and_services_of_each_role(sandbox, probes):
    vision = probes.ssh("vision-1")
    for unit in ("ssh", "redis-server", "postgresql"):
        assert vision.service(unit).is_running
    assert probes.redis("vision-1").ping()
    with probes.postgres("vision-1", "vision", "vision", "VISION_DB_PASSWORD") as db:
        assert db.execute("SELECT to_regclass('post_enrichment') IS NOT NULL").fetchone()[0]
    assert probes.http("vision-1", "worker", "/metrics")[0] == 200  # runbook 001: /metrics only

    api = probes.ssh("analyticbot-1")
    assert api.service("analyticbot-api").is_running
    assert api.file("/opt/analyticbot/.env.production").mode == 0o600
    with probes.postgres("analyticbot-1", "analytic_bot", "analyticbot", "ANALYTICBOT_DB_PASSWORD") as db:
        columns = {row[0] for row in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts'")}
        indexes = {row[0] for row in db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")}
    assert {"has_video", "has_media"} <= columns
    assert {"idx_posts_content_type", "idx_posts_date_content"} <= indexes
    status, body = probes.http("analyticbot-1", "api", "/health")
    assert status == 200 and json.loads(body)["status"] == "healthy"
    assert "Feature flags - Advanced:" in api.file("/var/log/analyticbot/production.log").content_string


def test_s3_endpoint_answers_on_loopback(sandbox):
    assert sandbox.s3_endpoint.startswith("http://127.0.0.1:")
    client = boto3.client("s3", endpoint_url=sandbox.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    assert "Buckets" in client.list_buckets()


def test_another_sandbox_folder_owns_its_hosts_and_its_down_leaves_ours(sandbox, probes):
    """A second sandbox (another folder of the checkout, as the benchmark's) with a host of the same name
    gets its own container, and its ``down`` removes only its own."""
    import os
    import shutil

    ours = probes.docker.containers.get(sandbox.host("phase17-1").container)
    folder = REPO / ".sandbox-test-other"  # in the checkout: the keys bootstrap authorizes are the repo's files
    other = {**os.environ, "ROLLBOOK_SANDBOX_DIR": str(folder)}

    def rollbook(*args):
        return subprocess.run([sys.executable, "-m", "rollbook", "sandbox", *args], cwd=REPO, env=other,
                              capture_output=True, text=True, timeout=900)

    up = rollbook("up", "--host", "phase17-1=phase17_server")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        theirs = json.loads((folder / "state.json").read_text())["hosts"][0]["container"]
        assert theirs != ours.name and probes.docker.containers.get(theirs).status == "running"
    finally:
        down = rollbook("down")
        shutil.rmtree(folder, ignore_errors=True)
    assert down.returncode == 0, down.stdout + down.stderr
    assert theirs in down.stdout and ours.name not in down.stdout
    ours.reload()
    assert ours.status == "running"
    assert all(container.name != theirs for container in probes.docker.containers.list(all=True))


def test_a_second_up_reuses_images_and_hosts(sandbox):
    said = []
    again = hosts.up(log=said.append)
    assert not [line for line in said if line.startswith(("building", "starting"))], said
    assert {h.name for h in again.hosts} == {h.name for h in sandbox.hosts}


@pytest.mark.parametrize("argv, cause", [
    (["sandbox", "up", "--host", "x-1=no_such_role"], "unknown role 'no_such_role'"),
    (["sandbox", "up", "--host", "x-1"], "expected NAME=ROLE"),
])
def test_bad_sandbox_input_is_one_line_naming_the_cause(argv, cause):
    done = subprocess.run([sys.executable, "-m", "rollbook", *argv], cwd=REPO, capture_output=True, text=True)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert cause in lines[-1]
    assert "Traceback" not in done.stderr
