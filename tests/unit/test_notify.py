"""Notifications reach a local endpoint in the shape incoming webhooks (Slack, Teams) accept."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rollbook import notify, runs
from rollbook.drift import DRIFT, Drifted, Report


@pytest.fixture
def endpoint():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Content-Type"],
                             json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_a_drift_notification_has_slack_s_text_field_and_the_facts(endpoint):
    url, received = endpoint
    report = Report(DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags"], [])])
    assert notify.drift(url, "inventories/prod.py", report) == "sent (200)"
    kind, body = received[0]
    assert kind == "application/json" and body["text"].startswith("rollbook: drift in inventories/prod.py on vision-1")
    assert body["drift"] == [{"host": "vision-1", "system": "vision", "steps": ["Set the vision flags"]}]


def test_an_emergency_is_notified_once_per_run_with_text(endpoint):
    url, received = endpoint
    run = runs.HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py", environment="prod",
                       authorization={"level": "P1", "oncall": "dave", "reason": "P1: costs"}, scope={}, reason="",
                       units_before={}, units_after={}, operator="bob@example.com")
    assert notify.emergency(run, url) == "sent (200)"
    assert notify.emergency(run, url) == "sent (200)"
    assert len(received) == 1 and "P1 emergency rollback of vision in prod" in received[0][1]["text"]


def test_an_unreachable_endpoint_is_said_never_raised():
    assert notify.post("http://127.0.0.1:9/none", {"text": "x"}).startswith("failed (")
