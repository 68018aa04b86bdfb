"""What `rollbook drift` sends: a failed check, and a correction run's notice that run could not send
itself; drift found is Prometheus's alert (docs/alerts.yml), never a message."""

from argparse import Namespace

from rollbook import cli
from rollbook.cli import drift
from rollbook.cli.drift import Drifted, Report


def _drift(monkeypatch, url: str, report: Report, correct: bool = False) -> int:
    monkeypatch.setattr(drift, "correct" if correct else "check", lambda *args: report)
    return cli._drift(Namespace(notify=url, correct=correct, inventory="inventories/prod.py", system=None,
                                limit=None, json=False, json_out=None, textfile=None, shard=None, shards=None))


def test_drift_found_sends_no_message(endpoint, monkeypatch):
    url, received = endpoint
    found = Report(drift.DRIFT, drift=[Drifted("vision-1", "vision", ["Set the vision flags"], [], ["b"])])
    assert _drift(monkeypatch, url, found) == drift.DRIFT
    assert received == []


def test_a_failed_check_sends_its_error(endpoint, monkeypatch):
    url, received = endpoint
    assert _drift(monkeypatch, url, Report(drift.ERROR, error="could not reach vision-1")) == drift.ERROR
    assert received[0][1] == {"text": "rollbook: the drift check of inventories/prod.py failed: could not reach vision-1"}


def test_a_correction_s_notice_its_run_could_not_send_goes_to_the_timer_s_webhook(endpoint, monkeypatch, capsys):
    url, received = endpoint
    notices = [{"text": "rollbook: run r1 needs a human: drift corrected on vision-1", "result": "not sent (...)",
                "line": "rollbook: notice of run r1 (drift corrected on vision-1): not sent (...)"}]
    assert _drift(monkeypatch, url, Report(drift.CONVERGED, notices=notices), correct=True) == drift.CONVERGED
    assert received[0][1] == {"text": notices[0]["text"]}
    assert "notification of the correction sent" in capsys.readouterr().err


def test_a_correction_s_notice_already_sent_is_not_sent_twice(endpoint, monkeypatch):
    url, received = endpoint
    notices = [{"text": "rollbook: run r1 needs a human: drift corrected on vision-1", "result": "sent",
                "line": "rollbook: notice of run r1 (drift corrected on vision-1): sent"}]
    _drift(monkeypatch, url, Report(drift.CONVERGED, notices=notices), correct=True)
    assert received == []
