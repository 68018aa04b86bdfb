"""A run's notice: one message at the run's end, only when an outcome needs a human, grouped by system,
naming the run, each host's outcome and changes, and no secret; delivered through the real Apprise."""

import json

import pytest

from rollbook.core import run_notice, runs, secrets
from rollbook.core.loader import HostSettings
from rollbook.core.run_notice import message, reasons

RUN_ID = "20250101T000000Z-abc123"


def host_run(system="vision", environment="sandbox", **fields) -> runs.HostRun:
    fields = {"kind": "rollback", "deploy": f"deploys/{system}_rollback.py", "operator": "bob@example.com",
              "run_id": RUN_ID, "outcome": "converged", **fields}
    return runs.HostRun(system=system, environment=environment, **fields)


EMERGENCY = {"mode": "emergency", "level": "P1", "reason": "P1: costs"}


@pytest.mark.parametrize("fields, reason", [
    ({"verified": False, "outcome": "failed", "failed_step": "vision | Verify: vision rolled back"},
     "verification failed"),
    ({"outcome": "restored", "failed_step": "vision | Recreate the worker"}, "restored"),
    ({"outcome": "refused", "environment": "prod", "refusal": "production needs an approval"}, "refused in prod"),
    ({"outcome": "unproven"}, "unproven"),
    ({"kind": "drift_correction", "outcome": "converged"}, "drift corrected"),
    ({"authorization": {**EMERGENCY, "notification": "failed (no answer): notify by hand"}}, "emergency"),
])
def test_each_outcome_that_needs_a_human_is_named_with_run_system_host_and_outcome(fields, reason):
    run = host_run(changes=["VISION_PHASH_ENABLED: true -> false"], **fields)
    assert reasons(run) == [reason]
    text = message([("vision-1", run)])
    lines = text.splitlines()
    assert lines[0] == f"rollbook: run {RUN_ID} needs a human: {reason} on vision-1"
    assert f"environment {run.environment}" in lines[1] and "deploy deploys/vision_rollback.py" in lines[1]
    assert lines[2] == "vision:"
    assert lines[3].startswith(f"- vision-1: {run.outcome}; needs a human: {reason}")
    assert lines[-1].endswith(": VISION_PHASH_ENABLED: true -> false")


@pytest.mark.parametrize("fields", [
    {"outcome": "converged"}, {"outcome": "no_change"}, {"verified": True, "outcome": "converged"},
    {"outcome": "refused", "environment": "staging"},  # self-service: the operator saw it
    {"kind": "drift_correction", "outcome": "no_change"},  # nothing was corrected
    {"authorization": {**EMERGENCY, "notification": "sent"}},  # announced before its change
    {"outcome": "failed", "failed_step": "vision | Trim the stream"},  # not in the list: the operator sees it
])
def test_a_run_with_nothing_to_say_sends_nothing(fields):
    assert message([("vision-1", host_run(**fields))]) is None


def test_hosts_are_grouped_by_system_with_every_host_s_outcome():
    text = message([
        ("voice-v2-1", host_run("voice_v2", outcome="restored", failed_step="voice_v2 | Restart")),
        ("vision-2", host_run(outcome="no_change")),
        ("vision-1", host_run(verified=False, outcome="failed", verify=["ok: health 200", "FAILED: counters moved"],
                              changes=["VISION_PHASH_ENABLED: true -> false"])),
    ])
    assert text.splitlines()[0] == (f"rollbook: run {RUN_ID} needs a human: verification failed on vision-1; "
                                    "restored on voice-v2-1")
    assert text.splitlines()[2:] == [
        "vision:",
        "- vision-1: failed; needs a human: verification failed",
        "    FAILED: counters moved",
        "    planned: VISION_PHASH_ENABLED: true -> false",
        "- vision-2: no_change",
        "voice_v2:",
        "- voice-v2-1: restored; needs a human: restored; failed at voice_v2 | Restart",
    ]


def test_an_emergency_announced_before_its_change_is_said_not_repeated():
    run = host_run(environment="prod", verified=False, outcome="failed",
                   authorization={**EMERGENCY, "notification": "sent"})
    text = message([("vision-1", run)])
    assert "needs a human: verification failed; emergency P1 (announced before the change: sent)" in text
    assert "P1: costs" not in text  # the reason was in the announcement


def test_a_refusal_says_why_and_that_its_changes_were_not_made():
    run = host_run(environment="prod", outcome="refused", refusal="approval .approvals/x.json expired",
                   changes=["VISION_PHASH_ENABLED: true -> false"])
    assert message([("vision-1", run)]).splitlines()[3:] == [
        "- vision-1: refused; needs a human: refused in prod; refused: approval .approvals/x.json expired",
        "    planned, not made: VISION_PHASH_ENABLED: true -> false"]


def test_a_long_list_of_changes_is_cut_and_counted():
    run = host_run(outcome="restored", changes=[f"K{n}: *** -> ***" for n in range(25)])
    assert message([("vision-1", run)]).splitlines()[-1] == "    (+5 more changes: see the host's history)"


def session_of(url: str | None, *host_runs, **data) -> runs.Session:
    session = runs.Session()
    for name, run in host_runs:
        session.register(name, run)
        session.settings[name] = HostSettings.validated({"rollbook_notify_webhook": url, **data})
    return session


def test_one_message_per_run_reaches_a_local_receiver_once(endpoint):
    url, received = endpoint
    session = session_of(url, ("vision-1", host_run(outcome="restored")), ("vision-2", host_run()),
                         ("phase17-1", host_run("phase17", verified=False, outcome="failed")))
    said = run_notice.at_end(session, executed=True)
    assert run_notice.at_end(session, executed=True) == said  # the last disconnect, then the exit: once
    assert said == [f"rollbook: notice of run {RUN_ID} (verification failed on phase17-1; restored on vision-1): sent"]
    assert len(received) == 1 and list(received[0][1]) == ["text"]  # Slack's shape, through Apprise
    text = received[0][1]["text"]
    assert text.startswith(f"rollbook: run {RUN_ID} needs a human: ")
    assert ["phase17:", "vision:"] == [line for line in text.splitlines() if line.endswith(":")]


def test_a_dry_run_or_a_clean_run_sends_nothing_and_says_nothing(endpoint, capsys):
    url, received = endpoint
    assert run_notice.at_end(session_of(url, ("vision-1", host_run(outcome="restored"))), executed=False) == []
    assert run_notice.at_end(session_of(url, ("vision-1", host_run())), executed=True) == []
    assert received == [] and capsys.readouterr().err == ""


def test_no_secret_of_the_data_or_the_environment_reaches_the_message(endpoint, monkeypatch, capsys):
    url, received = endpoint
    webhook = f"{url}?token=hook-secret-1234"
    monkeypatch.setenv("ROLLBOOK_TEST_TOKEN", "env-secret-5678")
    run = host_run(verified=False, outcome="failed", changes=["API_TOKEN: *** -> ***"],
                   verify=["FAILED: the API answered 401 to token env-secret-5678"],
                   failed_step=f"posting to {webhook}")
    session = session_of(webhook, ("vision-1", run))
    monkeypatch.setattr(runs, "SESSION", session)
    assert secrets.secret("ROLLBOOK_TEST_TOKEN", {}, "a check") == "env-secret-5678"  # read by the run
    said = run_notice.at_end(session, executed=True)
    assert said[0].endswith(": sent")
    text = received[0][1]["text"]
    assert "env-secret-5678" not in text and "hook-secret-1234" not in text
    assert "FAILED: the API answered 401 to token ***" in text and "API_TOKEN: *** -> ***" in text
    assert "secret" not in capsys.readouterr().err


def test_a_delivery_that_fails_never_fails_the_run_and_is_said(capsys):
    session = session_of("http://127.0.0.1:9/none", ("vision-1", host_run(outcome="restored")))
    [said] = run_notice.at_end(session, executed=True)
    assert said.startswith(f"rollbook: notice of run {RUN_ID} (restored on vision-1): failed (")
    assert said.endswith("notify by hand") and "127.0.0.1:9" not in said
    assert said in capsys.readouterr().err


def test_without_a_webhook_the_output_says_it_was_not_sent():
    [said] = run_notice.at_end(session_of(None, ("vision-1", host_run(outcome="restored"))), executed=True)
    assert said.endswith("not sent (no rollbook_notify_webhook configured): notify by hand")


def test_the_caller_of_a_correction_run_gets_its_notices_in_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv(run_notice.NOTICE_FILE, str(tmp_path / "notices.json"))
    run = host_run(kind="drift_correction", outcome="converged", changes=["VISION_PHASH_ENABLED: true -> false"])
    run_notice.at_end(session_of(None, ("vision-1", run)), executed=True)
    [notice] = json.loads((tmp_path / "notices.json").read_text())
    assert notice["result"].startswith("not sent") and "drift corrected on vision-1" in notice["text"]
    assert notice["reasons"] == [{"host": "vision-1", "system": "vision", "reasons": ["drift corrected"]}]


def test_an_unproven_run_says_which_checks_could_not_tell_and_the_console_reads_its_hosts(tmp_path, monkeypatch):
    from rollbook.console.runner import unproven_hosts

    monkeypatch.setenv(run_notice.NOTICE_FILE, str(tmp_path / "notices.json"))
    run = host_run(outcome="unproven", unproven=["counter flat: not proven"],
                   verify=["ok: env holds", "UNPROVEN: counter flat: not proven"])
    run_notice.at_end(session_of(None, ("vision-1", run), ("vision-2", host_run(outcome="no_change"))), executed=True)
    [notice] = json.loads((tmp_path / "notices.json").read_text())
    assert "- vision-1: unproven; needs a human: unproven\n    UNPROVEN: counter flat: not proven" in notice["text"]
    assert unproven_hosts(tmp_path / "notices.json") == {"vision-1"}
    assert unproven_hosts(tmp_path / "none.json") == set()
    # a staging run that passed its other checks but could not prove one, then failed a later step
    assert reasons(host_run(outcome="failed", unproven=["counter flat: not proven"])) == ["unproven"]
