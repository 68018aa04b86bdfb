"""Authority on a sandbox host enrolled as prod (issue #22): a flag order that hides ``--dry`` never
turns a real run into a plan, and data from any source but the repo's group data is refused before
any host command. Checked on the host, through root, never through rollbook."""

import json
import subprocess

import pytest

from rollbook.sandbox import hosts

from ..e2e.pyinfra_run import PYINFRA, REPO

HOST = "vision-1"
ENV = "/opt/vision/.env"
PROD = "inventories/sandbox_prod.py"


def history(probes) -> list[dict]:
    text = probes.file_text(HOST, "/var/lib/rollbook/history.jsonl")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def pyinfra(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYINFRA, *args], cwd=REPO, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def as_prod(sandbox):
    done = pyinfra("-y", "--limit", "vision_workers", "inventories/sandbox.py", "deploys/vision_enable.py")
    assert done.returncode == 0, done.stderr
    hosts.enroll([HOST], "prod", log=lambda *_: None)
    yield
    hosts.enroll([HOST], "sandbox", log=lambda *_: None)


@pytest.mark.parametrize("flags", [
    ["-y", "--exclude", "--dry"],          # --dry taken as --exclude's value: a real run
    ["--limit", HOST, "-y", "--exclude", "--dry"],
    ["-y", "--data", "reason=--dry"],      # --dry as a data value
])
def test_a_hidden_dry_flag_never_skips_the_approval(as_prod, probes, flags):
    before, records = probes.file_sha256(HOST, ENV), len(history(probes))
    done = pyinfra(*flags, "--limit", HOST, "--data", "vision_waves=tokens", PROD, "deploys/vision_rollback.py")
    assert done.returncode != 0, done.stderr
    assert f"{HOST}: refused: production needs an approval" in done.stderr
    assert probes.file_sha256(HOST, ENV) == before
    written = history(probes)[records:]
    assert [record["event"] for record in written] == ["refused"], written
    assert all(record["authorization"].get("mode") != "plan" for record in history(probes))


def test_a_real_dry_run_writes_nothing_and_prints_the_plan(as_prod, probes):
    before, records = probes.file_sha256(HOST, ENV), len(history(probes))
    done = pyinfra("--dry", "--limit", HOST, "--data", "vision_waves=tokens", PROD, "deploys/vision_rollback.py")
    assert done.returncode == 0, done.stderr
    assert "plan digest: sha256:" in done.stderr
    assert probes.file_sha256(HOST, ENV) == before and len(history(probes)) == records


@pytest.mark.parametrize("data, said", [
    ("rollbook_drift_correction=true", "unknown data key rollbook_drift_correction"),
    ("rollbook_drift_inventory=inventories/prod.py\nExecStartPre=+/bin/sh -c id", "rollbook_drift_inventory"),
    ("analyticbot_version_file=../../../etc/shadow", "analyticbot_version_file"),
    ("vision_env_file=/etc/sudoers", "vision_env_file"),
    ("vision_experiments_file=/opt/vision/.env", "vision_experiments_file"),
    ("rollbook_notify_webhook=json://127.0.0.1:9/hook", "may not set the security setting rollbook_notify_webhook"),
])
def test_bad_data_is_refused_in_one_line_naming_the_key_before_any_host_command(as_prod, probes, data, said):
    before, records = probes.file_sha256(HOST, ENV), len(history(probes))
    done = pyinfra("-y", "--limit", HOST, "--data", "vision_waves=b", "--data", data, PROD,
                   "deploys/vision_rollback.py")
    errors = [line for line in done.stderr.splitlines() if "pyinfra error" in line]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert said in errors[0]
    assert probes.file_sha256(HOST, ENV) == before and len(history(probes)) == records


def test_other_group_data_naming_other_signers_is_refused_before_any_host_command(as_prod, probes, tmp_path):
    (tmp_path / "sandbox_prod.py").write_text('rollbook_allowed_signers = "tests/forged_signers"\n')
    before, records = probes.file_sha256(HOST, ENV), len(history(probes))
    done = pyinfra("-y", "--group-data", str(tmp_path), "--limit", HOST, "--data", "vision_waves=b", PROD,
                   "deploys/vision_rollback.py")
    errors = [line for line in done.stderr.splitlines() if "pyinfra error" in line]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert "rollbook_allowed_signers differs from the repo's group data" in errors[0]
    assert probes.file_sha256(HOST, ENV) == before and len(history(probes)) == records


def test_a_drift_correction_takes_no_data(as_prod, probes):
    records = len(history(probes))
    done = pyinfra("-y", "--limit", HOST, "--data", "vision_enabled_values={}", PROD, "deploys/drift_correct.py")
    assert done.returncode != 0 and "a drift correction converges to the recorded state and takes no --data " \
        "(vision_enabled_values)" in done.stderr, done.stderr
    assert len(history(probes)) == records


def test_drift_of_no_host_is_an_error(sandbox):
    done = subprocess.run([str(REPO / ".venv/bin/python") if (REPO / ".venv/bin/python").exists() else "python3",
                           "-m", "rollbook", "drift", "inventories/sandbox.py", "--limit", "nosuchhost"],
                          cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
