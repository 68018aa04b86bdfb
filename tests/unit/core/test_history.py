"""History records, merged into the runbook's Rollback History table and the incident report."""

from rollbook.core import history
from rollbook.core.runs import HostRun
from rollbook.systems import post_rollback


def a_run(**changes) -> HostRun:
    run = HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py", environment="prod",
                  authorization={"mode": "approval", "approver": "alice"}, scope={"vision_waves": "b"},
                  reason="INC-7", units_before={"b": "enabled"}, units_after={"b": "rolled_back"},
                  changes=["VISION_PHASH_ENABLED: true -> false"], operator="bob")
    for key, value in changes.items():
        setattr(run, key, value)
    return run


def records_of(*records) -> list[dict]:
    return history.parse("\n".join(history.line(r) for r in records) + "\nnot json\n", "w1")


def test_started_and_finished_merge_into_one_row():
    run = a_run(verify=["ok: worker /health answers 200"], verified=True)
    rows = history.runs_of(records_of(history.started(run), history.finished(run, "converged", 12.34)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["outcome"], row["duration_s"], row["host"]) == ("converged", 12.3, "w1")
    cells = history.cells(row)
    assert "alice" in cells and "INC-7" in cells and "vision_waves=b" in cells


def test_a_killed_run_shows_as_interrupted_and_a_refusal_says_why():
    killed, refused = a_run(run_id="r-killed"), a_run(run_id="r-refused")
    rows = history.runs_of(records_of(history.started(killed), history.refused(refused, "locked by carol")))
    outcomes = {row["run_id"]: history.cells(row)[10] for row in rows}
    assert outcomes == {"r-killed": "interrupted (no finish recorded)", "r-refused": "refused: locked by carol"}
    assert history.table(rows).count("\n") == 3


def test_emergency_runs_say_who_and_the_notification():
    run = a_run(authorization={"mode": "emergency", "level": "P1", "oncall": "dave", "notification": "sent (200)"})
    assert history.authorized_by(history.started(run)) == "emergency P1 by dave (notify: sent (200))"


def test_the_incident_report_renders_a_run():
    run = a_run(verify=["ok: worker /health answers 200"], verified=True, cleanup={"phash_keys_deleted": 1000})
    rows = history.runs_of(records_of(history.started(run), history.finished(run, "converged", 3)))
    text = history.incident_report(rows, "w1", run.run_id, post_rollback())
    assert "# Incident report: vision rollback on w1" in text
    assert "`VISION_PHASH_ENABLED: true -> false`" in text and "phash_keys_deleted: 1000" in text
    assert "Verification (passed)" in text and "Root cause analysis scheduled" in text


def test_the_incident_report_holds_an_unproven_verification_and_the_service_s_log():
    run = a_run(verify=["ok: env holds", "UNPROVEN: counter flat: not proven"], unproven=["counter flat: not proven"],
                diagnostics=["2026-12-08T02:00:00 worker started", "2026-12-08T02:00:01 connected to <hidden>"])
    rows = history.runs_of(records_of(history.started(run), history.finished(run, "unproven", 3, "vision | Verify")))
    text = history.incident_report(rows, "w1", run.run_id, post_rollback())
    assert "## vision: unproven" in text and "### Verification (UNPROVEN)" in text
    assert "### The service's log before the run ended (last 2 lines, masked)\n\n" \
           "    2026-12-08T02:00:00 worker started\n    2026-12-08T02:00:01 connected to <hidden>\n" in text
    failed = a_run(verify=["FAILED: env differs"], verified=False)
    rows = history.runs_of(records_of(history.started(failed), history.finished(failed, "failed", 3)))
    text = history.incident_report(rows, "w1", failed.run_id, post_rollback())
    assert "### Verification (FAILED)" in text and "The service's log" not in text


def test_the_report_holds_a_timeline_and_ticks_the_runbook_s_steps_the_verification_showed():
    run = a_run(system="analyticbot", verify=["ok: /health 200 healthy", "FAILED: best-times answered in 6.0s (limit 2s)",
                                              "ok: no ERROR in the log since the restart"], verified=False)
    rows = history.runs_of(records_of(history.started(run), history.finished(run, "failed", 7.5, "analyticbot | Verify")))
    text = history.incident_report(rows, "api-1", run.run_id, post_rollback())
    started, ended = rows[0]["started_at"], rows[0]["at"]
    assert f"## Timeline\n\n- {started}: analyticbot rollback started on api-1 by bob\n" \
           f"- {ended}: analyticbot rollback failed at analyticbot | Verify (7.5 s)\n" in text
    assert "## Post-rollback: analyticbot (runbook 004, Post-Rollback Checklist)" in text
    assert "- [x] Health endpoint responding (200 OK)\n" in text and "- [x] No errors in last 100 log lines\n" in text
    assert "- [ ] Response times < 2 seconds\n" in text, "a failed check ticks nothing"
    assert "- [ ] Code bugs: full code rollback upstream" in text


def test_a_refused_run_s_timeline_says_refused_never_started():
    run = a_run()
    rows = history.runs_of(records_of(history.refused(run, "production needs an approval")))
    text = history.incident_report(rows, "w1", run.run_id, post_rollback())
    timeline = text.split("## Timeline\n", 1)[1].split("\n## ", 1)[0]
    assert "started" not in timeline and "vision rollback refused (production needs an approval)" in timeline
