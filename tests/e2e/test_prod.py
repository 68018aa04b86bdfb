"""Production end to end, on sandbox hosts enrolled as prod and reached as production reaches them
(``inventories/sandbox_prod.py``: the ``rollbook`` user with sudo, strict host keys, approvals checked
against the sandbox's allowed signers). For each system: a rollback with an approval of its plan and a
re-run that changes nothing. Then the control host, installed by ``deploys/drift_timer.py`` through the
same inventory: its timer's check finds a hand edit of one managed unit of each system (exit 2, naming
host, system and unit; ``rollbook_drift 1``), a correction brings back the recorded state with no new
approval, and its next check exits 0 and exports 0. Root is used only to make the hand edits and to place
the control host's key, as a team does."""

import json
import subprocess
import sys

import pytest

from rollbook.admin import drift_timer
from rollbook.core import metrics
from rollbook.sandbox import hosts
from rollbook.sandbox.state import APPROVER, approver_key_path

from .console_server import installed
from .control import CONTROL, REPORT, TEXTFILE, install, timer_check
from .control import exported as shard_samples
from .pyinfra_run import REPO, pyinfra
from .vision_traffic import quiet_night

PROD = "inventories/sandbox_prod.py"
SYSTEMS = {  # system: (host, rollback data, file, hand edit that undoes the rollback, enable data, unit edited)
    "vision": ("vision-1", {"vision_waves": "b", "vision_ignore_experiments": "true"}, "/opt/vision/.env",
               "sed -i 's/^VISION_PHASH_ENABLED=.*/VISION_PHASH_ENABLED=true/'", {}, "b"),
    "analyticbot": ("analyticbot-1", {"analyticbot_features": "time_weighting"}, "/opt/analyticbot/.env.production",
                    "sed -i 's/^ENABLE_TIME_WEIGHTING=.*/ENABLE_TIME_WEIGHTING=true/'", {}, "time_weighting"),
    "phase17": ("phase17-1", {"phase17_method": "router"}, "/srv/phase17/server/app/main.py",
                "sed -i 's/^# \\(.*video_stream_router.*\\)$/\\1/'", {"phase17_method": "router"},  # lines back
                "router"),
    "voice_v2": ("voice-v2-1", {"voice_level": 1}, "/opt/voice_v2/.env",
                 "sed -i 's/^VOICE_V2_OPTIMIZED=.*/VOICE_V2_OPTIMIZED=true/'", {"voice_level": 1}, "env"),
}
SANDBOX_HOSTS = {("vision-1", "vision"), ("analyticbot-1", "analyticbot"), ("analyticbot-2", "analyticbot"),
                 ("phase17-1", "phase17"), ("voice-v2-1", "voice_v2"), ("voice-v2-2", "voice_v2")}  # (host, system)
ROLLED_BACK: dict[str, str] = {}  # system -> the managed file's hash after its prod rollback


def rollbook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900)


def approve(tmp_path, deploy: str, host: str, data: dict) -> str:
    out = tmp_path / f"{deploy}-{len(list(tmp_path.iterdir()))}.json"
    args = ["approve", PROD, f"deploys/{deploy}.py", "--limit", host, "--approver", APPROVER,
            "--key", str(approver_key_path()), "--reason", "INC-15 prod drill", "--out", str(out), "--yes"]
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
    """Each system's host enabled and every host converged to its record (self-service, as the sandbox),
    the web console installed on control-1, then every host enrolled as prod; yields the console."""
    names = [host.name for host in probes.state.hosts]
    console = installed()
    probes.ssh("phase17-1").check_output("git -C /srv/phase17 checkout -- server/app/main.py")  # the router shape
    for system, (host, _, _, _, enable, _) in SYSTEMS.items():
        run = pyinfra("inventories/sandbox.py", f"deploys/{system}_enable.py", data=enable, limit=host)
        assert run.returncode == 0, run.output
    everything = pyinfra("inventories/sandbox.py", "deploys/converge.py", timeout=1200)
    assert everything.returncode == 0, everything.output  # the timer's first check then finds nothing
    hosts.enroll(names, "prod", log=lambda *_: None)
    yield console
    hosts.enroll(names, "sandbox", log=lambda *_: None)


@pytest.fixture(scope="module")
def control_timer(enrolled, probes, tmp_path_factory):
    """The drift timer installed in prod as any prod change: each run with its own approval."""
    folder = tmp_path_factory.mktemp("timer")
    install(probes, PROD, approval=lambda: approve(folder, "drift_timer", "control", {}))


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_prod_rollback_with_an_approval_then_a_rerun_changes_nothing(enrolled, probes, system, tmp_path):
    host, data, path, *_ = SYSTEMS[system]
    deploy = f"{system}_rollback"
    run = prod(deploy, host, approval=approve(tmp_path, deploy, host, data), **data)
    assert run.returncode == 0, run.output
    again = prod(deploy, host, approval=approve(tmp_path, deploy, host, data), **data)
    assert again.returncode == 0 and again.changed == set(), again.output
    ROLLED_BACK[system] = probes.file_sha256(host, path)


def test_the_control_host_runs_the_drift_check_from_the_rollbook_it_installed(control_timer, probes):
    control = probes.ssh(CONTROL)
    assert control.check_output("git -C /opt/rollbook rev-parse HEAD") == \
        subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert control.run("/opt/rollbook-venv/bin/python -c 'import docker'").rc != 0  # the runtime set only
    assert str(REPO) not in control.check_output("findmnt -rn -o TARGET").split(), \
        "the controller's checkout is mounted on the control host"
    timer = control.service("rollbook-drift@0.timer")  # rollbook_drift_shards 1: one instance, shard 0/1
    assert timer.is_running and timer.is_enabled
    assert not control.file("/etc/systemd/system/rollbook-drift.timer").exists  # no unit from before shards
    unit = control.file("/etc/systemd/system/rollbook-drift@.service").content_string
    assert f"rollbook drift {PROD} --shard %i/1 " in unit  # it checks the hosts as production reaches them
    assert "OnUnitActiveSec=5min" in control.file("/etc/systemd/system/rollbook-drift@.timer").content_string
    verified = control.run("systemd-analyze verify /etc/systemd/system/rollbook-drift@0.service "
                           "/etc/systemd/system/rollbook-drift@0.timer")
    assert verified.rc == 0, verified.stderr
    assert not [line for line in verified.stderr.splitlines() if "rollbook-drift" in line], verified.stderr
    settings = [line for line in unit.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if "ROLLBOOK_NOTIFY_WEBHOOK=" in line or "--notify" in line], \
        unit  # the webhook, a secret, never in the unit: only its root-only EnvironmentFile
    assert f"EnvironmentFile=-{drift_timer.NOTIFY_ENV}" in settings

    tick = timer_check(probes)
    assert (tick.status, tick.result, tick.user) == (0, "success", "rollbook-drift"), tick.journal
    assert "converged: every host holds its recorded state" in tick.journal
    assert tick.report["result"] == "converged"
    exported = shard_samples(tick.textfile)
    assert exported["rollbook_drift_check_success"] == 1
    assert exported[metrics.canonical('rollbook_drift{system="vision",host="vision-1"}')] == 0
    assert exported["rollbook_drift_last_success_timestamp_seconds"] >= exported["rollbook_drift_last_run_timestamp_seconds"] > 0


def test_the_timer_names_each_hand_edit_and_a_correction_needs_no_new_approval(control_timer, probes):
    assert set(ROLLED_BACK) == set(SYSTEMS), "every system's prod rollback ran first"
    for host, _, path, edit, _, _ in SYSTEMS.values():
        probes.ssh(host).run(f"{edit} {path}")  # someone edits each host by hand

    found = timer_check(probes)
    assert (found.status, found.result) == (2, "exit-code"), found.journal
    assert {(d["host"], d["system"]): d["units"] for d in found.report["drift"]} == \
        {(host, system): [unit] for system, (host, *_, unit) in SYSTEMS.items()}
    for system, (host, *_, unit) in SYSTEMS.items():
        assert shard_samples(found.textfile)[metrics.canonical(f'rollbook_drift{{system="{system}",host="{host}"}}')] == 1
        assert f"{host}  {system}  unit {unit}: " in found.journal

    for system, (host, _, path, *_) in SYSTEMS.items():
        corrected = rollbook("drift", PROD, "--system", system, "--limit", host, "--correct")
        assert corrected.returncode == 0, corrected.stdout + corrected.stderr
        assert probes.file_sha256(host, path) == ROLLED_BACK[system]
        records = [json.loads(line) for line in probes.file_text(host, "/var/lib/rollbook/history.jsonl").splitlines()]
        correction = [r for r in records if r.get("kind") == "drift_correction" and r["event"] == "started"][-1]
        assert correction["authorization"]["mode"] == "recorded-state"

    checked = timer_check(probes)
    assert (checked.status, checked.result) == (0, "success"), checked.journal
    for system, (host, *_) in SYSTEMS.items():
        assert shard_samples(checked.textfile)[metrics.canonical(f'rollbook_drift{{system="{system}",host="{host}"}}')] == 0
    assert shard_samples(checked.textfile)["rollbook_drift_check_success"] == 1


def test_the_control_host_runs_one_timer_per_shard_and_retires_the_shards_gone(control_timer, probes, tmp_path):
    """rollbook_drift_shards 2: two instances of the same template units, each checking its own hosts and
    writing its own report and textfile labelled shard="I/2"; back to 1, shard 1's timer and files go."""
    control = probes.ssh(CONTROL)

    def reinstall(shards: int):
        data = {"rollbook_drift_shards": shards}
        run = pyinfra(PROD, "deploys/drift_timer.py", limit="control",
                      data={**data, "approval": approve(tmp_path, "drift_timer", "control", data)})
        assert run.returncode == 0, run.output

    reinstall(2)
    try:
        ticks = []
        for index in range(2):
            timer = control.service(f"rollbook-drift@{index}.timer")
            assert timer.is_running and timer.is_enabled
            ticks.append(timer_check(probes, index))
            assert (ticks[-1].status, ticks[-1].result) == (0, "success"), ticks[-1].journal
            assert shard_samples(ticks[-1].textfile, shard=f"{index}/2")["rollbook_drift_check_success"] == 1
        checked = [(entry["host"], entry["system"]) for tick in ticks for entry in tick.report["hosts"]]
        assert len(checked) == len(set(checked)), checked  # each once
        assert set(checked) == SANDBOX_HOSTS  # every system host of the inventory, in one shard or the other
    finally:
        reinstall(1)
    assert not control.service("rollbook-drift@1.timer").is_enabled
    assert not control.service("rollbook-drift@1.timer").is_running
    assert not control.file(TEXTFILE.format(index=1)).exists and not control.file(REPORT.format(index=1)).exists
    assert control.service("rollbook-drift@0.timer").is_running


def test_a_correction_never_converges_with_data_changed_since_the_approved_run(enrolled, probes, tmp_path):
    """Group data changed after the approved rollback (here another group_data folder giving vision's
    worker another container name): the correction is refused naming the key, and nothing changes."""
    assert "vision" in ROLLED_BACK, "vision's prod rollback ran first"
    (tmp_path / "all.py").write_text('vision_service = "worker-elsewhere"\n')
    probes.ssh("vision-1").run("sed -i 's/^VISION_PHASH_ENABLED=.*/VISION_PHASH_ENABLED=true/' /opt/vision/.env")
    edited = probes.file_sha256("vision-1", "/opt/vision/.env")
    try:
        refused = pyinfra(PROD, "deploys/drift_correct.py", "-y", "--group-data", str(tmp_path), limit="vision-1")
        assert refused.returncode != 0
        assert "vision_service changed since the last authorized run" in refused.refusal, refused.output
        assert probes.file_sha256("vision-1", "/opt/vision/.env") == edited
    finally:
        corrected = rollbook("drift", PROD, "--system", "vision", "--limit", "vision-1", "--correct")
        assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    assert probes.file_sha256("vision-1", "/opt/vision/.env") == ROLLED_BACK["vision"]


def test_history_across_hosts_is_read_as_the_rollbook_user_through_sudo(enrolled, probes):
    done = rollbook("history", PROD, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {host for host, *_ in SYSTEMS.values()} <= {row["host"] for row in rows}
    corrected = {row["host"] for row in rows if row.get("kind") == "drift_correction" and row["outcome"] == "converged"}
    assert {host for host, *_ in SYSTEMS.values()} <= corrected  # the drill's corrections, read back
    mode = probes.ssh("vision-1").check_output("stat -c %a /var/lib/rollbook/history.jsonl")
    assert mode == "600"  # readable only through sudo, as rollbook reads it


def test_drift_refuses_an_unknown_system_in_one_line(sandbox):
    done = rollbook("drift", PROD, "--system", "nosuch")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "unknown system 'nosuch'" in done.stderr


def test_a_host_with_no_recorded_state_is_reported_and_left_alone(enrolled, probes, tmp_path):
    """phase17-1 with its record removed (a host rollbook never ran on): the check says so, the
    correction leaves it alone (prod does not allow the declared state), and the check is not an error."""
    host = probes.ssh("phase17-1")
    state = json.loads(host.check_output("cat /var/lib/rollbook/state.json"))
    host.check_output("cp -p /var/lib/rollbook/state.json /var/lib/rollbook/state.json.saved")
    try:
        state.pop("phase17", None)
        host.check_output(f"printf '%s\\n' '{json.dumps(state)}' > /var/lib/rollbook/state.json")
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
        host.check_output("mv /var/lib/rollbook/state.json.saved /var/lib/rollbook/state.json")


def test_a_console_approval_is_verified_on_the_host_as_a_cli_approval(enrolled, probes):
    """A prod plan in the console, approved there by another person and started by its requester: the host's
    lock step verifies the console's signed approval (its key a listed signer, as ``*@rollbook-console``)."""
    host, data = SYSTEMS["vision"][:2]  # the data of the approved CLI rollback above: the run changes nothing
    operator, approver = enrolled.api("operator"), enrolled.api("approver")
    made = operator.post("/api/plans", json={"system": "vision", "action": "rollback", "environment": "prod",
                                             "hosts": [host], "data": data})
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    assert operator.post("/api/runs", json={"plan": plan_id}).status_code == 403  # not approved yet
    assert approver.post(f"/api/plans/{plan_id}/approve", json={"reason": "INC-24 console drill"}).status_code == 200
    run_id = operator.post("/api/runs", json={"plan": plan_id}).json()["id"]
    with operator.stream("GET", f"/api/runs/{run_id}/events") as stream:
        last = [line for line in stream.iter_lines() if line.startswith("data: ")][-1]
    assert json.loads(last[6:]) == {"status": "succeeded"}, operator.get(f"/api/runs/{run_id}/output").text[-3000:]
    records = [json.loads(line) for line in probes.ssh(host).check_output(
        "cat /var/lib/rollbook/history.jsonl").splitlines() if '"console_run"' in line]
    started = [record for record in records if record["console_run"] == run_id and record["event"] == "started"]
    assert started and started[0]["authorization"]["mode"] == "approval"
    assert started[0]["authorization"]["approver"] == "approver@rollbook-console"


def test_in_prod_an_unproven_rollback_fails_unless_accepted_and_is_never_restored(enrolled, probes, tmp_path):
    """No traffic and the probe off (it costs model tokens in prod): the approved rollback cannot show its
    counters flat. It fails, recorded ``unproven``, and the worker keeps the rolled-back flags; accepted by
    name (``vision_accept_unproven``, itself in the approved plan) the same run succeeds, still unproven."""
    host, path = "vision-1", SYSTEMS["vision"][2]
    data = {**SYSTEMS["vision"][1], "vision_probe": "false"}
    with quiet_night(probes, host):
        run = prod("vision_rollback", host, approval=approve(tmp_path, "vision_rollback", host, data), **data)
        assert run.returncode != 0, run.output
        assert "In prod an unproven run fails (nothing is restored)" in run.output, run.output
        assert "--data vision_accept_unproven=true" in run.output
        rolled_back = probes.file_sha256(host, path)
        assert probes.compose_env(host, "worker")["VISION_PHASH_ENABLED"] == "false", "restored?"
        accepted = {**data, "vision_accept_unproven": "true"}
        again = prod("vision_rollback", host, approval=approve(tmp_path, "vision_rollback", host, accepted), **accepted)
        assert again.returncode == 0, again.output  # (it also does the cleanup the failed run left undone)
        assert 'UNPROVEN: vision_media_total{reason="ocr_primary"} flat: not proven' in again.output, again.output
    records = [json.loads(line) for line in probes.file_text(host, "/var/lib/rollbook/history.jsonl").splitlines()]
    finished = [record for record in records if record["event"] == "finished"][-2:]
    assert [record["outcome"] for record in finished] == ["unproven", "unproven"], finished
    assert "Verify the vision worker" in finished[0]["failed_step"] and "failed_step" not in finished[1]
    assert probes.file_sha256(host, path) == rolled_back
