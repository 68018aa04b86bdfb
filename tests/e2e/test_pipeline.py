"""Operating safely (approvals, locks, recorded state, drift, history) on a sandbox host enrolled as prod,
reached as production reaches it (``inventories/sandbox_prod.py``: the ``rollbook`` user with sudo)."""

import json
import subprocess
import sys
import time

import pytest

from rollbook.sandbox import hosts
from rollbook.sandbox.state import APPROVER, OPERATOR, approver_key_path, ssh_key_path
from tests.webhook import sandbox_receiver

from .pyinfra_run import REPO, command, pyinfra

HOST = "vision-1"
ENV = "/opt/vision/.env"
EXPERIMENTS = "/opt/vision/config/vision_experiments.yml"
PROD_INVENTORY = "inventories/sandbox_prod.py"


def rollbook(*args, env=None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def deploy(name: str, env=None, **data):
    return pyinfra("inventories/sandbox.py", f"deploys/{name}.py", data=data, limit="vision_workers", env=env)


def deploy_prod(name: str, dry=False, **data):
    return pyinfra(PROD_INVENTORY, f"deploys/{name}.py", data=data, limit="vision_workers", dry=dry)


def managed_hashes(probes) -> dict[str, str]:
    return {path: probes.file_sha256(HOST, path) for path in (ENV, EXPERIMENTS)}


def history(probes) -> list[dict]:
    text = probes.file_text(HOST, "/var/lib/rollbook/history.jsonl")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def refusal(run) -> str:
    """Why a run was refused: bad input stops pyinfra before any host command (one "pyinfra error"
    line); a run that is not authorized fails its first command on the host ("<host>: refused: ...")."""
    assert run.returncode != 0, run.output
    refused = [line for line in run.output.splitlines() if f"{HOST}: refused: " in line]
    if refused:
        return refused[-1]
    errors = [line for line in run.output.splitlines() if "pyinfra error" in line]
    assert len(errors) == 1, run.output
    return errors[0]


def approve(out, hours=1.0, key=None, approver=APPROVER, **data) -> str:
    args = ["approve", PROD_INVENTORY, "deploys/vision_rollback.py", "--approver", approver,
            "--key", str(key or approver_key_path()), "--reason", "INC-9 OCR errors", "--hours", str(hours),
            "--out", str(out), "--limit", "vision_workers", "--yes"]
    for item, value in data.items():
        args += ["--data", f"{item}={value}"]
    done = rollbook(*args)
    assert done.returncode == 0, done.stderr
    return str(out)


@pytest.fixture
def enabled(sandbox):
    run = deploy("vision_enable")
    assert run.returncode == 0, run.output


@pytest.fixture
def as_prod(enabled):
    """vision-1 enrolled as prod (as a team enrolls a real host); back to sandbox afterwards."""
    hosts.enroll([HOST], "prod", log=lambda *_: None)
    yield
    hosts.enroll([HOST], "sandbox", log=lambda *_: None)


def test_prod_without_approval_is_refused_recorded_and_touches_nothing(as_prod, probes):
    before, records = managed_hashes(probes), len(history(probes))
    planned = deploy_prod("vision_rollback", dry=True, vision_waves="b", vision_ignore_experiments="true")
    assert planned.returncode == 0, planned.output
    assert "plan digest: sha256:" in planned.stderr and "VISION_PHASH_ENABLED: true -> false" in planned.stderr
    assert managed_hashes(probes) == before
    assert len(history(probes)) == records, "a --dry run wrote on the host"

    run = deploy_prod("vision_rollback", vision_waves="b")
    assert "refused: production needs an approval" in refusal(run)
    assert managed_hashes(probes) == before
    last = history(probes)[-1]
    assert last["event"] == "refused" and "needs an approval" in last["refused_because"]


@pytest.mark.parametrize("data, said", [
    ({"rollbook_environment": "staging"}, "may not set the security setting rollbook_environment"),
    ({"rollbook_allowed_signers": "/tmp/mine"}, "may not set the security setting rollbook_allowed_signers"),
    ({"ssh_strict_host_key_checking": "no"}, "may not set the security setting ssh_strict_host_key_checking"),
    ({"vision_wave": "b"}, "unknown data key vision_wave (did you mean vision_waves?)"),
])
def test_no_data_override_turns_prod_into_self_service(as_prod, probes, data, said):
    before, records = managed_hashes(probes), len(history(probes))
    assert said in refusal(deploy_prod("vision_rollback", **data))
    assert managed_hashes(probes) == before and len(history(probes)) == records


def test_the_host_not_the_controller_decides_its_environment(as_prod, probes):
    """vision-1 is enrolled as prod: the sandbox inventory (self-service) is refused before any change."""
    before = managed_hashes(probes)
    run = deploy("vision_rollback", vision_waves="b")
    assert run.returncode != 0 and "is enrolled as 'prod'" in run.output, run.output
    assert managed_hashes(probes) == before
    assert "enrolled as 'prod'" in history(probes)[-1]["refused_because"]


def test_a_valid_approval_lets_exactly_its_run_proceed(as_prod, probes, tmp_path):
    approval = approve(tmp_path / "ok.json", vision_waves="b", vision_ignore_experiments="true")
    data = {"approval": approval, "vision_ignore_experiments": "true"}

    experiments_not_approved = deploy_prod("vision_rollback", vision_waves="b", **{**data, "vision_ignore_experiments": "false"})
    assert "is for other data: vision_ignore_experiments='true' (run: 'false')" in refusal(experiments_not_approved)

    wrong_scope = deploy_prod("vision_rollback", vision_waves="a,b", **data)
    assert "is for other data" in refusal(wrong_scope)
    before, records = managed_hashes(probes), len(history(probes))
    extra = deploy_prod("vision_rollback", vision_waves="b", vision_rolled_back_values='{"b": {}}', **data)
    assert "is for other data: vision_rolled_back_values" in refusal(extra)
    assert managed_hashes(probes) == before and len(history(probes)) == records  # refused before any host command
    mine = approve(tmp_path / "mine.json", key=ssh_key_path(), approver=OPERATOR, vision_waves="b",
                   vision_ignore_experiments="true")
    self_approved = deploy_prod("vision_rollback", vision_waves="b", **{**data, "approval": mine})
    assert "cannot approve their own run" in refusal(self_approved)

    run = deploy_prod("vision_rollback", vision_waves="b", **data)
    assert run.returncode == 0, run.output
    assert probes.compose_env(HOST, "worker")["VISION_PHASH_ENABLED"] == "false"
    started = [r for r in history(probes) if r["event"] == "started"][-1]
    assert started["authorization"]["approver"] == APPROVER and started["environment"] == "prod"
    assert started["operator"] == OPERATOR

    # the same plan once more (nothing left to change): an approval is used once
    again = approve(tmp_path / "again.json", vision_waves="b", vision_ignore_experiments="true")
    first = deploy_prod("vision_rollback", vision_waves="b", **{**data, "approval": again})
    assert first.returncode == 0 and first.changed == set(), first.output
    reused = deploy_prod("vision_rollback", vision_waves="b", **{**data, "approval": again})
    assert "was already used on vision-1" in reused.output and reused.returncode != 0
    changed_since = deploy_prod("vision_rollback", vision_waves="b", **data)  # the first approval: plan changed
    assert changed_since.returncode != 0 and "the plan differs from the approved one" in changed_since.output
    owner = probes.ssh(HOST).check_output("stat -c '%U %a' /var/lib/rollbook/history.jsonl")
    assert owner.startswith("root "), owner  # written through sudo, as in production


def test_expired_and_tampered_approvals_are_refused(as_prod, probes, tmp_path):
    before, ignore = managed_hashes(probes), {"vision_ignore_experiments": "true"}
    expired = approve(tmp_path / "expired.json", hours=0.0002, vision_waves="b", **ignore)
    time.sleep(1.5)
    assert "expired at" in refusal(deploy_prod("vision_rollback", vision_waves="b", approval=expired, **ignore))

    tampered = approve(tmp_path / "tampered.json", vision_waves="b", **ignore)
    doc = json.loads(open(tampered).read())
    doc["data"]["vision_waves"] = "a,b,c,tokens"
    open(tampered, "w").write(json.dumps(doc, sort_keys=True, indent=2) + "\n")
    run = deploy_prod("vision_rollback", vision_waves="a,b,c,tokens", approval=tampered, **ignore)
    assert "signature does not verify" in refusal(run)
    assert managed_hashes(probes) == before


def test_an_emergency_override_proceeds_notifies_and_says_so(as_prod, probes):
    emergency = dict(vision_waves="tokens", emergency="P1", reason="P1: token costs")
    with sandbox_receiver() as (_, posted):  # the repo's group data reads its address
        plan = deploy_prod("vision_rollback", dry=True, **emergency)
        assert plan.returncode == 0, plan.output
        assert posted == [], "a dry run notified"
        run = deploy_prod("vision_rollback", **emergency)
    assert run.returncode == 0, run.output
    # one message: the announcement before the change; a converged end adds none (rollbook.core.run_notice)
    received = [body for _, body in posted]
    assert len(received) == 1 and list(received[0]) == ["text"]  # Slack's shape, through Apprise
    assert "P1 emergency rollback of vision in prod" in received[0]["text"]
    assert f"by {OPERATOR} (on call)" in received[0]["text"]  # the on-call engineer is the key's owner
    finish = history(probes)[-1]
    assert finish["event"] == "finished" and finish["outcome"] == "converged"
    assert finish["authorization"]["mode"] == "emergency"
    assert finish["authorization"]["needs_notification"] is True
    assert finish["authorization"]["notification"] == "sent"


def test_a_second_concurrent_run_fails_at_once_naming_the_holder(enabled, probes):
    first = subprocess.Popen(command("inventories/sandbox.py", "deploys/vision_rollback.py", limit="vision_workers"),
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    host = probes.ssh(HOST)
    for _ in range(120):
        if host.file("/var/lib/rollbook/locks/vision.lock").exists:
            break
        time.sleep(0.25)
    second = deploy("vision_rollback")
    still_running = first.poll() is None
    out, err = first.communicate(timeout=300)
    assert still_running, "the first run ended before the second one was refused"
    assert first.returncode == 0, err
    assert second.returncode != 0
    assert "vision on vision-1 is locked by" in second.output and " since " in second.output
    assert not host.file("/var/lib/rollbook/locks/vision.lock").exists
    assert history(probes)[-1]["event"] == "finished"
    refused = [r for r in history(probes) if r["event"] == "refused" and "locked by" in r["refused_because"]]
    assert refused


def test_converge_keeps_a_rollback_and_drift_is_found_and_corrected(enabled, probes):
    assert deploy("vision_rollback", vision_waves="b").returncode == 0
    converge = deploy("converge")
    assert converge.returncode == 0, converge.output
    assert converge.changed == set()
    assert probes.compose_env(HOST, "worker")["VISION_PHASH_ENABLED"] == "false"

    probes.ssh(HOST).run(f"sed -i 's/^VISION_PHASH_ENABLED=.*/VISION_PHASH_ENABLED=true/' {ENV}")
    found = rollbook("drift", "inventories/sandbox.py")
    assert found.returncode == 2, found.stdout + found.stderr
    assert "VISION_PHASH_ENABLED: true -> false" in found.stdout and "vision-1" in found.stdout
    corrected = rollbook("drift", "inventories/sandbox.py", "--correct")
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    assert rollbook("drift", "inventories/sandbox.py").returncode == 0
    assert "VISION_PHASH_ENABLED=false" in probes.file_text(HOST, ENV).splitlines()
    assert [r for r in history(probes) if r.get("kind") == "drift_correction"]


def test_drift_is_an_error_when_the_inventory_or_a_host_cannot_be_read(sandbox, tmp_path):
    done = rollbook("drift", "inventories/no_such.py")
    assert done.returncode == 1 and "no inventory file inventories/no_such.py" in done.stderr

    inventory = tmp_path / "lost.py"
    inventory.write_text('vision_workers = [("lost-1", {"ssh_hostname": "127.0.0.1", "ssh_port": 9})]\n')
    done = rollbook("drift", str(inventory))
    assert done.returncode == 1 and "could not reach lost-1" in done.stderr


def test_drift_in_two_shards_exits_as_the_unsharded_check_and_names_every_host_once(sandbox):
    """``--shards 2``: two shard processes at once against the sandbox, one merged report: the exit code and
    each host's result as the unsharded check's; each shard alone holds its hosts, none twice."""
    def results(done) -> list[tuple[str, str, str]]:
        return [(entry["host"], entry["system"], entry["result"]) for entry in json.loads(done.stdout)["hosts"]]

    whole = rollbook("drift", "inventories/sandbox.py", "--json")
    split = rollbook("drift", "inventories/sandbox.py", "--shards", "2", "--json")
    assert split.returncode == whole.returncode, split.stdout + split.stderr
    assert results(split) == results(whole) and results(whole)
    pairs = [(host, system) for host, system, _ in results(split)]
    assert len(pairs) == len(set(pairs))  # every host and system named once
    shards = [rollbook("drift", "inventories/sandbox.py", "--shard", f"{index}/2", "--json") for index in range(2)]
    hosts = [{host for host, _, _ in results(done)} for done in shards]
    assert not hosts[0] & hosts[1] and hosts[0] | hosts[1] == {host for host, _, _ in results(whole)}


def test_history_shows_every_run_refusals_included_and_no_secret(sandbox, probes):
    done = rollbook("history", "inventories/sandbox.py", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    outcomes = {row["outcome"] for row in rows if row["host"] == HOST}
    assert {"refused", "converged"} <= outcomes
    assert any(row.get("authorization", {}).get("mode") == "emergency" for row in rows)
    for secret in probes.secrets.values():
        assert secret not in done.stdout
    table = rollbook("history", "inventories/sandbox.py")
    assert table.stdout.startswith("| Date | Host | Environment |")

    run_id = [row for row in rows if row["host"] == HOST and row["outcome"] == "converged"][-1]["run_id"]
    report = rollbook("incident", "--inventory", "inventories/sandbox.py", "--host", HOST, "--run", run_id)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("# Incident report: vision") and run_id in report.stdout
