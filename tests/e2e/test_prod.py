"""Production end to end, on sandbox hosts enrolled as prod and reached as production reaches them
(``inventories/sandbox_prod.py``: the ``rollbook`` user with sudo, strict host keys, approvals checked
against the sandbox's allowed signers). For each system: a rollback with an approval of its plan, a
re-run that changes nothing, a hand edit of one managed unit, a drift check that exits 2 naming host and
system and exports ``rollbook_drift 1``, a correction back to the recorded state with no new approval,
and a check that exits 0 and exports 0. Root is used only to make the hand edit."""

import json
import subprocess
import sys

import pytest

from rollbook.sandbox import hosts
from rollbook.sandbox.state import APPROVER, approver_key_path

from .pyinfra_run import REPO, pyinfra

PROD = "inventories/sandbox_prod.py"
SYSTEMS = {  # system: (host, rollback data, file, hand edit that undoes the rollback, enable data)
    "vision": ("vision-1", {"vision_waves": "b", "vision_ignore_experiments": "true"}, "/opt/vision/.env",
               "sed -i 's/^VISION_PHASH_ENABLED=.*/VISION_PHASH_ENABLED=true/'", {}),
    "analyticbot": ("analyticbot-1", {"analyticbot_features": "time_weighting"}, "/opt/analyticbot/.env.production",
                    "sed -i 's/^ENABLE_TIME_WEIGHTING=.*/ENABLE_TIME_WEIGHTING=true/'", {}),
    "phase17": ("phase17-1", {"phase17_method": "router"}, "/srv/phase17/server/app/main.py",
                "sed -i 's/^# \\(.*video_stream_router.*\\)$/\\1/'", {"phase17_method": "router"}),  # lines back
    "voice_v2": ("voice-v2-1", {"voice_level": 1}, "/opt/voice_v2/.env",
                 "sed -i 's/^VOICE_V2_OPTIMIZED=.*/VOICE_V2_OPTIMIZED=true/'", {"voice_level": 1}),
}


def rollbook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900)


def approve(tmp_path, deploy: str, host: str, data: dict) -> str:
    out = tmp_path / f"{deploy}-{len(list(tmp_path.iterdir()))}.json"
    args = ["approve", PROD, f"deploys/{deploy}.py", "--limit", host, "--approver", APPROVER,
            "--key", str(approver_key_path()), "--reason", "INC-15 prod drill", "--out", str(out)]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    done = rollbook(*args)
    assert done.returncode == 0, done.stderr
    assert "plan digest: sha256:" in done.stdout
    return str(out)


def prod(deploy: str, host: str, **data):
    return pyinfra(PROD, f"deploys/{deploy}.py", data=data, limit=host)


@pytest.fixture(scope="module")
def enrolled(sandbox, probes):
    """Each system's host enabled (self-service, as the sandbox), then enrolled as prod."""
    names = [host for host, *_ in SYSTEMS.values()]
    probes.ssh("phase17-1").check_output("git -C /srv/phase17 checkout -- server/app/main.py")  # the router shape
    for system, (host, _, _, _, enable) in SYSTEMS.items():
        run = pyinfra("inventories/sandbox.py", f"deploys/{system}_enable.py", data=enable, limit=host)
        assert run.returncode == 0, run.output
    hosts.enroll(names, "prod", log=lambda *_: None)
    yield
    hosts.enroll(names, "sandbox", log=lambda *_: None)


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_prod_rollback_drift_and_correction_without_a_new_approval(enrolled, probes, system, tmp_path):
    host, data, path, edit, _ = SYSTEMS[system]
    deploy = f"{system}_rollback"
    run = prod(deploy, host, approval=approve(tmp_path, deploy, host, data), **data)
    assert run.returncode == 0, run.output
    again = prod(deploy, host, approval=approve(tmp_path, deploy, host, data), **data)
    assert again.returncode == 0 and again.changed == set(), again.output
    rolled_back = probes.file_sha256(host, path)

    probes.ssh(host).run(f"{edit} {path}")  # someone edits the host by hand
    textfile = tmp_path / "rollbook.prom"
    found = rollbook("drift", PROD, "--system", system, "--limit", host, "--textfile", str(textfile), "--json")
    assert found.returncode == 2, found.stdout + found.stderr
    report = json.loads(found.stdout)
    assert [(d["host"], d["system"]) for d in report["drift"]] == [(host, system)]
    assert f'rollbook_drift{{system="{system}",host="{host}"}} 1' in textfile.read_text()

    corrected = rollbook("drift", PROD, "--system", system, "--limit", host, "--correct")
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    assert probes.file_sha256(host, path) == rolled_back
    checked = rollbook("drift", PROD, "--system", system, "--limit", host, "--textfile", str(textfile))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f'rollbook_drift{{system="{system}",host="{host}"}} 0' in textfile.read_text()
    assert "rollbook_drift_check_success 1" in textfile.read_text()
    records = [json.loads(line) for line in probes.file_text(host, "/var/lib/rollbook/history.jsonl").splitlines()]
    correction = [r for r in records if r.get("kind") == "drift_correction" and r["event"] == "started"][-1]
    assert correction["authorization"]["mode"] == "recorded-state"


def test_drift_refuses_an_unknown_system_in_one_line(sandbox):
    done = rollbook("drift", PROD, "--system", "nosuch")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "unknown system 'nosuch'" in done.stderr


def test_a_host_with_no_recorded_state_is_reported_and_left_alone(enrolled, probes, tmp_path):
    """phase17-1 with its record removed (a host rollbook never ran on): the check says so, the
    correction leaves it alone (prod does not allow the declared state), and the check is not an error."""
    host = probes.ssh("phase17-1")
    saved = host.check_output("cat /var/lib/rollbook/state.json")
    state = json.loads(saved)
    try:
        state.pop("phase17", None)
        host.check_output(f"printf '%s' '{json.dumps(state)}' > /var/lib/rollbook/state.json")
        main = probes.file_sha256("phase17-1", "/srv/phase17/server/app/main.py")
        found = rollbook("drift", PROD, "--system", "phase17", "--limit", "phase17-1", "--json")
        assert found.returncode == 0, found.stdout + found.stderr
        assert json.loads(found.stdout)["no_recorded_state"] == [{"host": "phase17-1", "system": "phase17"}]
        assert "phase17-1  phase17  no recorded state" in rollbook("drift", PROD, "--system", "phase17",
                                                                   "--limit", "phase17-1").stdout
        corrected = rollbook("drift", PROD, "--system", "phase17", "--limit", "phase17-1", "--correct")
        assert corrected.returncode == 0, corrected.stdout + corrected.stderr
        assert probes.file_sha256("phase17-1", "/srv/phase17/server/app/main.py") == main
    finally:
        host.check_output(f"printf '%s' '{saved}' > /var/lib/rollbook/state.json")
