"""Notifications reach a local endpoint in the shape incoming webhooks (Slack, Teams) accept."""

import pytest

from rollbook.core import notify, runs
from rollbook.cli.drift import Report


def test_a_failed_check_is_notified_with_its_error(endpoint):
    url, received = endpoint
    assert notify.drift_failed(url, "inventories/prod.py", Report(1, error="could not reach vision-1")) == "sent"
    assert received[0][1] == {"text": "rollbook: the drift check of inventories/prod.py failed: could not reach vision-1"}


def test_an_emergency_is_notified_once_per_run_with_text(endpoint):
    url, received = endpoint
    run = runs.HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py", environment="prod",
                       authorization={"level": "P1", "oncall": "dave", "reason": "P1: costs"},
                       scope={"vision_waves": "b"}, reason="", units_before={}, units_after={},
                       operator="bob@example.com")
    assert notify.emergency(run, url) == "sent"
    assert notify.emergency(run, url) == "sent"
    assert len(received) == 1 and "P1 emergency rollback of vision in prod" in received[0][1]["text"]
    assert "scope vision_waves=b" in received[0][1]["text"]


@pytest.mark.parametrize("url, expected", [
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
     "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"),  # Apprise's Slack plugin
    ("json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/hook"),
    ("https://chat.example/hooks/x", "jsons://chat.example/hooks/x?" + notify.SLACK_SHAPE),
    ("http://127.0.0.1:9/hook?token=a", "json://127.0.0.1:9/hook?" + notify.SLACK_SHAPE + "&-token=a"),
])
def test_the_apprise_url_of_a_webhook(url, expected):
    assert notify.target(url) == expected


def test_an_unreachable_endpoint_is_said_never_raised():
    said = notify.post("http://127.0.0.1:9/none", "x")
    assert said.startswith("failed (") and said.endswith("notify by hand") and "127.0.0.1:9/none" not in said


def test_a_url_apprise_cannot_use_is_said_never_raised():
    assert notify.post("ftp://example.org/x", "x").startswith("failed (")
