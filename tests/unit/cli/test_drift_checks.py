"""Issue #22: a drift check never asks a question, never calls "nothing checked" or "unreachable" converged,
never calls an error drift, says per host and system what decided, and keeps the last known values in
its textfile when it fails."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rollbook.cli import drift
from rollbook.cli.drift import Drifted, Failed, Report
from rollbook.core.metrics import parse

REPO = Path(__file__).resolve().parents[3]

# What pyinfra 3.10 prints (pyinfra.connectors.ssh, pyinfra.api.host.connect), colours and padding included.
CONNECT_STDERR = """--> Loading config...
--> Loading inventory...
--> Connecting to hosts...
    [vision-1]      \x1b[32mConnected\x1b[0m
    Failed to load host keys from /root/.ssh/known_hosts: [Errno 2] No such file or directory
    [vision-2]      \x1b[31mCould not resolve hostname ([Errno -2] Name or service not known)\x1b[0m
    [vision-3]      Could not connect (timed out)
    [phase17-1]     Could not connect ([Errno None] Unable to connect to port 22 on 10.0.0.7)
    [analyticbot-1] Authentication error (username=rollbook)
    [voice-v2-1]    SSH host key error (Host key for voice-v2-1 does not match.)
    [voice-v2-2]    EOF error ()
    [voice-v2-3]    Something pyinfra has no words for yet

--> Preparing operation files...
    Loading: deploys/converge.py
    [vision-1] Ready: deploys/converge.py
"""


def plan_of(*entries) -> dict:
    """A converge --dry plan: (host, system, steps, differ) entries."""
    plan = {}
    for host, system, steps, differ in entries:
        plan.setdefault(host, {})[system] = {"units": {"b": "rolled_back"}, "steps": steps,
                                             "changes": [f"{step}: x -> y" for step in steps], "differ": differ}
    return {"plan": plan}


@pytest.fixture
def dry_run(monkeypatch, tmp_path):
    """``drift.check`` on a fake repo: the pyinfra run returns ``stderr``/``code`` and writes ``plan``;
    the inventory holds ``targets``."""
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "prod.py").write_text("")
    given = {"stderr": "", "code": 0, "plan": None, "plans": [], "targets": [], "runs": 0}

    def fake(inventory, *args, plan_file=None, deploy=None):
        given["runs"] += 1
        plan = given["plans"].pop(0) if given["plans"] else given["plan"]
        if plan is not None:
            Path(plan_file).write_text(json.dumps(plan))
        return subprocess.CompletedProcess(args, given["code"], "", given["stderr"])

    monkeypatch.setattr(drift, "REPO", tmp_path)
    monkeypatch.setattr(drift, "_pyinfra", fake)
    monkeypatch.setattr(drift, "targets", lambda inventory, system=None, limit=None: list(given["targets"]))
    return given


# -- unreachable hosts are named, whatever pyinfra's words ---------------------------------------------------

def test_every_connection_failure_pyinfra_prints_names_its_host():
    assert drift.unreachable_hosts(CONNECT_STDERR) == {
        "vision-2": "Could not resolve hostname ([Errno -2] Name or service not known)",
        "vision-3": "Could not connect (timed out)",
        "phase17-1": "Could not connect ([Errno None] Unable to connect to port 22 on 10.0.0.7)",
        "analyticbot-1": "Authentication error (username=rollbook)",
        "voice-v2-1": "SSH host key error (Host key for voice-v2-1 does not match.)",
        "voice-v2-2": "EOF error ()",
        "voice-v2-3": "Something pyinfra has no words for yet",  # a connect-stage line other than "Connected"
    }
    assert "vision-1" not in drift.unreachable(CONNECT_STDERR)


def test_could_not_resolve_hostname_outside_the_connect_section_is_still_unreachable():
    stderr = "[vision-9] Could not resolve hostname ([Errno -3] Temporary failure in name resolution)\n"
    assert drift.unreachable(stderr) == ["vision-9"]


def test_an_unreachable_host_is_an_error_naming_it_and_not_converged(dry_run):
    dry_run.update(stderr=CONNECT_STDERR, code=1, plan=plan_of(("vision-1", "vision", [], [])),
                   targets=[("vision-1", "vision"), ("vision-2", "vision")])
    report = drift.check("inventories/prod.py", system="vision")
    assert report.code == drift.ERROR == 1
    assert "could not reach vision-2 (Could not resolve hostname" in report.error
    assert "\n" not in report.error and "their state is unknown" in report.error
    results = {(entry["host"], entry["system"]): entry for entry in json.loads(drift.as_json(report))["hosts"]}
    assert results[("vision-2", "vision")]["result"] == "unreachable"
    assert results[("vision-2", "vision")]["decided_by"].startswith("connect: Could not resolve hostname")
    assert results[("vision-1", "vision")]["result"] == "converged"


def test_every_host_unreachable_names_them_all(dry_run):
    dry_run.update(stderr=CONNECT_STDERR + "--> pyinfra error: No hosts remaining!\n", code=1,
                   targets=[("vision-2", "vision"), ("vision-3", "vision")])
    report = drift.check("inventories/prod.py")
    assert report.code == drift.ERROR
    assert "vision-2" in report.error and "vision-3" in report.error


# -- zero hosts checked is an error, never "converged" -------------------------------------------------------

def test_a_limit_that_matches_no_host_is_an_error_in_one_line(dry_run):
    dry_run.update(stderr="--> Loading inventory...\n    No host matches found for --limit pattern: nosuchhost\n")
    report = drift.check("inventories/prod.py", limit="nosuchhost")
    assert report.code == drift.ERROR == 1
    assert report.error.startswith("no host was checked: --limit nosuchhost selects no host")
    assert drift.render(report).count("\n") == 0


def test_an_empty_inventory_is_an_error(dry_run):
    report = drift.check("inventories/prod.py")  # an empty inventory file, nothing planned, nothing said
    assert report.code == drift.ERROR and "no host was checked" in report.error


def rollbook_drift(*args) -> subprocess.CompletedProcess:
    """``rollbook drift`` as an operator runs it, with the real pyinfra (no host reached: none matches,
    or the one there refuses on 127.0.0.1)."""
    return subprocess.run([sys.executable, "-m", "rollbook", "drift", *args], cwd=REPO, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_the_drift_command_exits_1_in_one_line_when_the_limit_matches_no_host():
    done = rollbook_drift("inventories/prod.py", "--limit", "nosuchhost")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.strip().count("\n") == 0
    assert "no host was checked: --limit nosuchhost" in done.stderr


def test_the_drift_command_exits_1_on_an_empty_inventory(tmp_path):
    (tmp_path / "empty.py").write_text("")
    done = rollbook_drift(str(tmp_path / "empty.py"), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["result"] == "error"


def test_the_drift_command_names_a_host_that_refuses_the_connection(tmp_path):
    (tmp_path / "one.py").write_text('phase17_server = [("refused-1", {"ssh_hostname": "127.0.0.1", "ssh_port": 1})]\n')
    done = rollbook_drift(str(tmp_path / "one.py"), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["error"].startswith("could not reach refused-1 (Could not connect")
    assert [(entry["host"], entry["system"], entry["result"]) for entry in document["hosts"]] == \
        [("refused-1", "phase17", "unreachable")]


def test_a_host_of_the_inventory_missing_from_the_plan_is_not_inspected_never_converged(dry_run):
    dry_run.update(plan=plan_of(("vision-1", "vision", [], [])),
                   targets=[("vision-1", "vision"), ("vision-2", "vision")])
    report = drift.check("inventories/prod.py")
    assert report.code == drift.ERROR and "vision-2 not inspected (vision)" in report.error


# -- errors are not drift ------------------------------------------------------------------------------------

def test_a_probe_that_failed_or_timed_out_is_not_ready_never_drift(dry_run):
    stderr = ("--> Connecting to hosts...\n    [vision-1] Connected\n    [vision-2] Connected\n"
              "--> Preparing operation files...\n"
              "    [vision-1] Error response from daemon: container is restarting\n"
              "    [vision-1] Error: could not load fact: rollbook.host.ProcessEnv (service=worker)\n"
              "    [vision-2] Command timed out after 10s\n")
    dry_run.update(stderr=stderr, code=1, targets=[("vision-1", "vision"), ("vision-2", "vision")],
                   plan=plan_of(("vision-1", "vision", ["Recreate the worker"], ["b"]),
                                ("vision-2", "vision", ["Set the vision flags"], ["a"])))
    report = drift.check("inventories/prod.py", system="vision")
    assert report.code == drift.ERROR and report.drift == []
    assert "vision-1 not ready (Error response from daemon: container is restarting)" in report.error
    assert "vision-2 not ready (Command timed out after 10s)" in report.error
    assert {entry["result"] for entry in drift.outcomes(report)} == {"not_ready"}


def test_ignored_errors_do_not_make_a_host_not_ready():
    assert drift.not_ready("[vision-1] Error (ignored): could not load fact\n") == {}


# -- --json: per host and system, the check that decided and what it saw -------------------------------------

def test_the_json_names_for_each_host_and_system_the_result_and_what_decided(dry_run):
    dry_run.update(stderr="[analyticbot-1] analyticbot: no recorded state: left alone\n",
                   plan=plan_of(("vision-1", "vision", ["Set the vision flags in /opt/vision/.env"], ["b"]),
                                ("phase17-1", "phase17", [], [])),
                   targets=[("vision-1", "vision"), ("phase17-1", "phase17"), ("analyticbot-1", "analyticbot")])
    report = drift.check("inventories/prod.py")
    assert report.code == drift.DRIFT
    hosts = {(entry["host"], entry["system"]): entry for entry in json.loads(drift.as_json(report))["hosts"]}
    assert hosts[("vision-1", "vision")] == {
        "host": "vision-1", "system": "vision", "result": "drift",
        "decided_by": "plan of deploys/converge.py --dry: 1 operation(s) would change the host",
        "recorded": {"b": "rolled_back"}, "units": ["b"], "steps": ["Set the vision flags in /opt/vision/.env"],
        "changes": ["Set the vision flags in /opt/vision/.env: x -> y"], "reason": ""}
    assert hosts[("phase17-1", "phase17")]["result"] == "converged"
    assert hosts[("phase17-1", "phase17")]["recorded"] == {"b": "rolled_back"}
    assert hosts[("analyticbot-1", "analyticbot")]["result"] == "no_recorded_state"


# -- pyinfra never asks ------------------------------------------------------------------------------------

def test_every_pyinfra_the_check_and_the_correction_start_has_stdin_closed_and_cannot_prompt(monkeypatch, tmp_path):
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "prod.py").write_text("")
    started = []

    def run(cmd, **kwargs):
        started.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 1, "", "pyinfra error: something")

    monkeypatch.setattr(drift, "REPO", tmp_path)
    monkeypatch.setattr(drift.subprocess, "run", run)
    monkeypatch.setenv("PYINFRA_YES", "1")  # would switch the check's change detection off
    drift.check("inventories/prod.py")
    drift.correct("inventories/prod.py")
    assert len(started) == 2
    for cmd, kwargs in started:
        assert kwargs["stdin"] is subprocess.DEVNULL
        assert kwargs["start_new_session"] is True  # no controlling terminal: no getpass on /dev/tty
        assert "PYINFRA_YES" not in kwargs["env"]
    (check_cmd, _), (correct_cmd, _) = started
    assert "--dry" in check_cmd and "--json" in check_cmd  # non-interactive, change detection kept
    assert "-y" not in check_cmd and "--yes" not in check_cmd
    assert "-y" in correct_cmd


def test_an_unreachable_host_in_a_correction_is_an_error_naming_it(monkeypatch, tmp_path):
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "prod.py").write_text("")
    monkeypatch.setattr(drift, "REPO", tmp_path)
    monkeypatch.setattr(drift, "_pyinfra", lambda inventory, *args, plan_file=None, deploy=None, notice_file=None:
                        subprocess.CompletedProcess(args, 0, "", CONNECT_STDERR))
    report = drift.correct("inventories/prod.py")
    assert report.code == drift.ERROR and "could not reach vision-2 (Could not resolve hostname" in report.error


# -- the textfile: prometheus_client, and a failed check keeps the last known values -------------------------

def families(path: Path) -> dict:
    return {family.name: family for family in text_string_to_metric_families(path.read_text())}


def test_the_textfile_is_written_by_prometheus_client_and_round_trips(tmp_path):
    target = tmp_path / "textfile" / "rollbook.prom"
    report = Report(drift.DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags"], [], ["b", "c"])],
                    checked=[("vision-1", "vision"), ("phase17-1", "phase17")])
    drift.write_textfile(str(target), report, now=1700000000.0)
    found = families(target)
    assert {"rollbook_drift", "rollbook_drift_unit", "rollbook_drift_check_success",
            "rollbook_drift_last_run_timestamp_seconds", "rollbook_drift_last_success_timestamp_seconds"} <= set(found)
    assert all(found[name].type == "gauge" for name in found) and found["rollbook_drift"].documentation
    assert parse(target.read_text()) == {
        'rollbook_drift{host="vision-1",system="vision"}': 1.0,
        'rollbook_drift{host="phase17-1",system="phase17"}': 0.0,
        'rollbook_drift_unit{host="vision-1",system="vision",unit="b"}': 1.0,
        'rollbook_drift_unit{host="vision-1",system="vision",unit="c"}': 1.0,
        "rollbook_drift_check_success": 1.0,
        "rollbook_drift_last_run_timestamp_seconds": 1700000000.0,
        "rollbook_drift_last_success_timestamp_seconds": 1700000000.0,
    }
    assert sorted(path.name for path in target.parent.iterdir()) == ["rollbook.prom"]  # no staged file left


def test_a_failed_check_keeps_the_last_known_values_and_sets_success_0(tmp_path):
    target = tmp_path / "rollbook.prom"
    drift.write_textfile(str(target), Report(
        drift.DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags"], [], ["b"])],
        checked=[("vision-1", "vision"), ("phase17-1", "phase17"), ("voice-v2-1", "voice_v2")]), now=1000.0)
    failed = Report(drift.ERROR, error="could not reach vision-1 (Could not connect (timed out))",
                    checked=[("phase17-1", "phase17")],
                    drift=[Drifted("phase17-1", "phase17", ["Turn the router off"], [], ["router"])],
                    failed=[Failed("vision-1", "vision", "unreachable", "Could not connect (timed out)")])
    drift.write_textfile(str(target), failed, now=2000.0)
    samples = parse(target.read_text())
    assert samples["rollbook_drift_check_success"] == 0
    assert samples["rollbook_drift_last_run_timestamp_seconds"] == 2000.0
    assert samples["rollbook_drift_last_success_timestamp_seconds"] == 1000.0  # carried over
    assert samples['rollbook_drift{host="vision-1",system="vision"}'] == 1  # last known, not reachable now
    assert samples['rollbook_drift_unit{host="vision-1",system="vision",unit="b"}'] == 1
    assert samples['rollbook_drift{host="voice-v2-1",system="voice_v2"}'] == 0
    assert samples['rollbook_drift{host="phase17-1",system="phase17"}'] == 1  # what this check did see
    assert samples['rollbook_drift_unit{host="phase17-1",system="phase17",unit="router"}'] == 1

    drift.write_textfile(str(target), Report(drift.ERROR, error="again"), now=3000.0)  # fails again: still kept
    again = parse(target.read_text())
    assert again["rollbook_drift_last_success_timestamp_seconds"] == 1000.0
    assert again['rollbook_drift{host="vision-1",system="vision"}'] == 1


def test_a_failed_first_check_writes_success_0_and_no_success_timestamp(tmp_path):
    target = tmp_path / "rollbook.prom"
    drift.write_textfile(str(target), Report(drift.ERROR, error="no host was checked"), now=5.0)
    samples = parse(target.read_text())
    assert samples["rollbook_drift_check_success"] == 0
    assert "rollbook_drift_last_success_timestamp_seconds" not in samples


def test_a_successful_check_drops_the_series_of_hosts_it_no_longer_has(tmp_path):
    target = tmp_path / "rollbook.prom"
    drift.write_textfile(str(target), Report(drift.CONVERGED, checked=[("old-1", "vision")]), now=1.0)
    drift.write_textfile(str(target), Report(drift.CONVERGED, checked=[("vision-1", "vision")]), now=2.0)
    samples = parse(target.read_text())
    assert 'rollbook_drift{host="old-1",system="vision"}' not in samples
    assert samples["rollbook_drift_last_success_timestamp_seconds"] == 2.0


def test_a_previous_textfile_that_is_not_prometheus_text_is_ignored(tmp_path):
    target = tmp_path / "rollbook.prom"
    target.write_text("this is { not prometheus\n")
    drift.write_textfile(str(target), Report(drift.ERROR, error="x"), now=1.0)
    assert parse(target.read_text())["rollbook_drift_check_success"] == 0


# -- drift is what two plans made one after the other agree on ----------------------------------------------

def test_drift_found_twice_the_same_way_is_drift(dry_run):
    dry_run.update(plan=plan_of(("vision-1", "vision", ["Set the vision flags"], ["b"]),
                                ("vision-2", "vision", [], [])),
                   targets=[("vision-1", "vision"), ("vision-2", "vision")])
    report = drift.check("inventories/prod.py", system="vision")
    assert (report.code, dry_run["runs"]) == (drift.DRIFT, 2)
    assert [(d.host, d.steps) for d in report.drift] == [("vision-1", ["Set the vision flags"])]


def test_a_host_converged_on_the_second_plan_is_not_ready_never_drift(dry_run):
    """A worker restarting when the first plan read it (the loaded-machine finding): unsettled, exit 1."""
    dry_run.update(plans=[plan_of(("vision-1", "vision", ["Restart the vision worker"], ["b"])),
                          plan_of(("vision-1", "vision", [], []))], targets=[("vision-1", "vision")])
    report = drift.check("inventories/prod.py", system="vision")
    assert report.code == drift.ERROR and report.drift == []
    assert report.error == "vision-1 not ready (differed on one plan and not on the next (still settling)): " \
                           "their state is unknown"
    (entry,) = json.loads(drift.as_json(report))["hosts"]
    assert (entry["result"], entry["decided_by"].split(":")[0]) == ("not_ready", "probe")


def test_drift_that_changes_between_the_plans_is_not_ready_and_a_converged_host_stays_converged(dry_run):
    dry_run.update(plans=[plan_of(("vision-1", "vision", ["Set the vision flags"], ["b"]), ("vision-2", "vision", [], [])),
                          plan_of(("vision-1", "vision", ["Restart the vision worker"], ["b"]),
                                  ("vision-2", "vision", [], []))],
                   targets=[("vision-1", "vision"), ("vision-2", "vision")])
    report = drift.check("inventories/prod.py", system="vision")
    results = {entry["host"]: entry["result"] for entry in json.loads(drift.as_json(report))["hosts"]}
    assert results == {"vision-1": "not_ready", "vision-2": "converged"} and report.code == drift.ERROR


def test_a_converged_check_plans_once(dry_run):
    dry_run.update(plan=plan_of(("vision-1", "vision", [], [])), targets=[("vision-1", "vision")])
    assert (drift.check("inventories/prod.py").code, dry_run["runs"]) == (drift.CONVERGED, 1)
