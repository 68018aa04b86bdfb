"""The drift report: from the run's plan to exit codes, JSON and node_exporter's textfile."""

import json
import subprocess
from pathlib import Path

from rollbook.cli import drift
from rollbook.cli.drift import Drifted, Report
from rollbook.core.metrics import parse

STDERR = """--> Preparing operations...
[vision-1] vision: no recorded state: left alone (no authorized run recorded one; rollbook_converge_declared ...)
[voice-v2-1] Could not connect (Connection refused)
"""


def test_hosts_without_a_record_and_unreachable_hosts_are_read_from_pyinfra_s_output():
    assert drift._unrecorded(STDERR) == [("vision-1", "vision")]
    assert drift.unreachable(STDERR) == ["voice-v2-1"]


def test_the_textfile_has_one_gauge_per_host_and_system_checked_and_the_check_s_success():
    report = Report(drift.DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags"], [], ["b"])],
                    checked=[("vision-1", "vision"), ("phase17-1", "phase17")])
    samples = parse(drift.prometheus(report, now=1700000000.0))
    assert samples['rollbook_drift{host="vision-1",system="vision"}'] == 1
    assert samples['rollbook_drift_unit{host="vision-1",system="vision",unit="b"}'] == 1
    assert samples['rollbook_drift{host="phase17-1",system="phase17"}'] == 0
    assert samples["rollbook_drift_check_success"] == 1
    assert samples["rollbook_drift_last_run_timestamp_seconds"] == 1700000000.0
    assert samples["rollbook_drift_last_success_timestamp_seconds"] == 1700000000.0
    assert parse(drift.prometheus(Report(drift.ERROR, error="x")))["rollbook_drift_check_success"] == 0


def test_render_names_host_system_unit_and_what_differs():
    report = Report(drift.DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags in /opt/vision/.env"],
                                                ["VISION_PHASH_ENABLED: true -> false"], ["b"])],
                    unrecorded=[("analyticbot-1", "analyticbot")])
    text = drift.render(report)
    assert "vision-1  vision  unit b: Set the vision flags in /opt/vision/.env" in text
    assert "VISION_PHASH_ENABLED: true -> false" in text and "analyticbot-1  analyticbot  no recorded state" in text
    document = json.loads(drift.as_json(report))
    assert document["result"] == "drift" and document["drift"][0]["units"] == ["b"]


def test_the_plan_s_differing_units_reach_the_report(monkeypatch, tmp_path):
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "prod.py").write_text("")
    plan = {"plan": {"vision-1": {"vision": {"units": {"b": "rolled_back"}, "steps": ["Set the vision flags"],
                                             "changes": ["VISION_PHASH_ENABLED: false -> true"], "differ": ["b"]}}}}

    def dry_run(inventory, *args, plan_file=None, deploy=None):
        Path(plan_file).write_text(json.dumps(plan))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(drift, "REPO", tmp_path)
    monkeypatch.setattr(drift, "_pyinfra", dry_run)
    monkeypatch.setattr(drift, "targets", lambda inventory, system=None, limit=None: [("vision-1", "vision")])
    report = drift.check("inventories/prod.py", system="vision", limit="vision-1")
    assert report.code == drift.DRIFT
    assert report.drift == [Drifted("vision-1", "vision", ["Set the vision flags"],
                                    ["VISION_PHASH_ENABLED: false -> true"], ["b"])]


def test_an_unknown_system_is_an_error_not_converged():
    import pytest

    with pytest.raises(ValueError, match="unknown system 'nosuch'"):
        drift._limit("nosuch")


def test_the_textfile_is_replaced_whole(tmp_path):
    target = tmp_path / "textfile" / "rollbook.prom"
    drift.write_atomically(str(target), "a 1\n")
    drift.write_atomically(str(target), "a 0\n")
    assert target.read_text() == "a 0\n" and not list(target.parent.glob(".*.tmp"))
