"""docs/alerts.yml: Prometheus accepts the rules (``promtool check rules``) and they fire when they
should (``promtool test rules``, on the rules' expressions and ``for`` durations).

promtool comes from Debian's ``prometheus`` package; without it these tests fail (never skip) and say so.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ALERTS = Path(__file__).resolve().parents[3] / "docs" / "alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool is not installed: it checks docs/alerts.yml. Install Debian's `prometheus` "
                    "package (apt-get install -y prometheus) in the test setup.", pytrace=False)
    return found


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_promtool_accepts_the_alerting_rules(promtool):
    done = run(promtool, "check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 3 rules found" in done.stdout


def test_the_rules_say_what_the_runbook_needs():
    rules = {rule["alert"]: rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]}
    assert rules["RollbookDrift"]["expr"] == "rollbook_drift == 1" and rules["RollbookDrift"]["for"] == "30m"
    assert rules["RollbookDriftCheckFailing"]["expr"] == "rollbook_drift_check_success == 0"
    assert rules["RollbookDriftCheckFailing"]["for"] == "15m"
    assert rules["RollbookDriftCheckStale"]["expr"] == \
        "time() - rollbook_drift_last_success_timestamp_seconds > 2 * 15 * 60"
    assert "rollbook_drift_interval_minutes" in ALERTS.read_text()


def test_the_rules_fire_after_their_durations(promtool, tmp_path):
    """The rules without annotations (their templates are for people), fed series over time."""
    document = yaml.safe_load(ALERTS.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(document))
    labels = {"system": "vision", "host": "vision-1", "instance": "control-1", "severity": "warning"}
    control = {"instance": "control-1", "severity": "warning"}
    tests = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'rollbook_drift{system="vision",host="vision-1",instance="control-1"}', "values": "1x60"},
                {"series": 'rollbook_drift{system="phase17",host="phase17-1",instance="control-1"}', "values": "0x60"},
                {"series": 'rollbook_drift_check_success{instance="control-1"}', "values": "1x9 0x50"},
                # the last success at 0s, never again: stale after two 15-minute intervals
                {"series": 'rollbook_drift_last_success_timestamp_seconds{instance="control-1"}', "values": "0x60"},
            ],
            "alert_rule_test": [
                {"eval_time": "29m", "alertname": "RollbookDrift", "exp_alerts": []},
                {"eval_time": "31m", "alertname": "RollbookDrift", "exp_alerts": [{"exp_labels": labels}]},
                {"eval_time": "20m", "alertname": "RollbookDriftCheckFailing", "exp_alerts": []},
                {"eval_time": "26m", "alertname": "RollbookDriftCheckFailing", "exp_alerts": [{"exp_labels": control}]},
                {"eval_time": "30m", "alertname": "RollbookDriftCheckStale", "exp_alerts": []},
                {"eval_time": "31m", "alertname": "RollbookDriftCheckStale", "exp_alerts": [{"exp_labels": control}]},
            ],
        }],
    }
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(yaml.safe_dump(tests))
    done = run(promtool, "test", "rules", str(spec))
    assert done.returncode == 0, done.stdout + done.stderr
