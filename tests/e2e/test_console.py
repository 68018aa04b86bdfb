"""The web console against the sandbox (issue #24): over its API with the sandbox's users, then in a real
browser (Debian's chromium driven by playwright). What a run did is checked on the host, not through the
console."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .console_server import installed
from .pyinfra_run import REPO, pyinfra

VISION = "vision-1"
TOKENS = "VISION_TOKENS_COUNT_ENABLED"
CHROMIUM = "/usr/lib/chromium/chromium"
SCREENSHOTS = Path(os.environ.get("ROLLBOOK_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".sandbox" / "screenshots"))


@pytest.fixture(scope="module")
def console(sandbox):
    """The console on control-1, and vision-1 enabled by its admin, taking over a lock an earlier,
    interrupted run of the console left (a stale lock is judged by the controller that holds it)."""
    served = installed()
    admin = served.api("admin")
    made = admin.post("/api/plans", json={"system": "vision", "action": "enable", "environment": "sandbox",
                                          "hosts": [VISION], "takeover": True})
    assert made.status_code == 201, made.text
    run_id = admin.post("/api/runs", json={"plan": made.json()["id"]}).json()["id"]
    assert events_of(admin, run_id)[-1] == ("status", {"status": "succeeded"}), admin.get(f"/api/runs/{run_id}/output").text
    return served


def test_the_console_is_a_unit_of_the_control_user_on_127_0_0_1_8480(console, probes):
    control = probes.ssh("control-1")
    assert console.url == "http://127.0.0.1:8480"
    assert control.check_output("systemctl is-active rollbook-console.service") == "active"
    assert control.check_output("systemctl show -p User --value rollbook-console.service") == "rollbook-drift"
    assert control.check_output("stat -c '%a %U' /etc/rollbook-console/users") == "600 rollbook-drift"
    listening = [line.split()[3] for line in control.check_output("ss -Htln 'sport = :8480'").splitlines()]
    assert listening == ["127.0.0.1:8480"]  # the local address only: nothing else reaches it


def plan(client, environment="sandbox", action="rollback", **data):
    body = {"system": "vision", "action": action, "environment": environment, "hosts": [VISION], "data": data}
    return client.post("/api/plans", json=body)


def events_of(client, run_id: str) -> list[tuple[str, dict]]:
    """The run's server-sent events, read until the stream ends (after the final status)."""
    seen, kind = [], ""
    with client.stream("GET", f"/api/runs/{run_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line[6:])))
    return seen


def test_a_viewer_cannot_plan(console):
    answer = plan(console.api("viewer"), vision_waves="tokens")
    assert answer.status_code == 403, answer.text


def test_an_operator_s_self_service_rollback_runs_its_plan_and_the_worker_sees_the_flag(console, probes):
    operator = console.api("operator")
    enabled = plan(operator, action="enable")
    assert enabled.status_code == 201, enabled.text
    first = operator.post("/api/runs", json={"plan": enabled.json()["id"]})
    assert first.status_code == 202 and events_of(operator, first.json()["id"])[-1] == ("status", {"status": "succeeded"})
    made = plan(operator, vision_waves="tokens")
    assert made.status_code == 201, made.text
    assert made.json()["hosts"] == [VISION] and made.json()["digest"].startswith("sha256:")
    started = operator.post("/api/runs", json={"plan": made.json()["id"]})
    assert started.status_code == 202, started.text
    events = events_of(operator, started.json()["id"])
    statuses = [payload["status"] for kind, payload in events if kind == "status"]
    assert statuses == ["succeeded"], events[-20:]
    hosts = [payload for kind, payload in events if kind == "host"]
    assert hosts and hosts[0] == {"host": VISION, "status": "running"}
    assert [kind for kind, _ in events].index("host") < [kind for kind, _ in events].index("status")
    assert operator.get(f"/api/runs/{started.json()['id']}").json()["hosts"] == {VISION: "succeeded"}
    assert probes.compose_env(VISION, "worker")[TOKENS] == "false"  # the container itself, not the console
    again = operator.post("/api/runs", json={"plan": made.json()["id"]})
    assert again.status_code == 409  # a plan runs once


def test_a_run_cancelled_by_its_requester_stops_and_is_recorded_as_cancelled(console):
    operator = console.api("operator")
    # the host holds this state already: stopped at the recreate step, nothing is being changed (a compose v1
    # recreate interrupted half way leaves a renamed container that the next recreate trips over)
    made = plan(operator, vision_waves="tokens")
    assert made.status_code == 201, made.text
    run_id = operator.post("/api/runs", json={"plan": made.json()["id"]}).json()["id"]
    assert console.api("approver").post(f"/api/runs/{run_id}/cancel").status_code == 403  # not theirs, not an admin
    with operator.stream("GET", f"/api/runs/{run_id}/events") as stream:
        for line in stream.iter_lines():
            if "Starting operation: vision | Recreate" in line:  # the host is locked
                break
    assert operator.post(f"/api/runs/{run_id}/cancel").status_code == 200
    events = events_of(operator, run_id)
    assert events[-1] == ("status", {"status": "cancelled"}), events[-5:]
    assert operator.get(f"/api/runs/{run_id}").json()["hosts"] == {VISION: "cancelled"}


def test_a_lock_left_by_a_cancelled_run_is_shown_and_only_an_admin_takes_it_over(console):
    """Ctrl-C leaves the host's lock (as from the CLI): the locks view shows it, an admin's next run takes
    it over (its holder is gone), and then no lock is held."""
    operator, admin = console.api("operator"), console.api("admin")
    # (the sandbox's two inventories reach the same hosts: each environment lists what it sees)
    held = [lock for lock in operator.get("/api/locks").json() if (lock["host"], lock["environment"]) == (VISION, "sandbox")]
    assert [lock["system"] for lock in held] == ["vision"], held
    assert held[0]["since"] and held[0]["operator"]
    refused = plan(operator, action="enable")
    assert refused.status_code == 201  # planning reads, it does not lock
    run_id = operator.post("/api/runs", json={"plan": refused.json()["id"]}).json()["id"]
    assert events_of(operator, run_id)[-1] == ("status", {"status": "refused"})  # the lock is held
    assert operator.post("/api/plans", json={"system": "vision", "action": "enable", "environment": "sandbox",
                                             "hosts": [VISION], "takeover": True}).status_code == 403
    made = admin.post("/api/plans", json={"system": "vision", "action": "enable", "environment": "sandbox",
                                          "hosts": [VISION], "takeover": True})
    assert made.status_code == 201, made.text
    run_id = admin.post("/api/runs", json={"plan": made.json()["id"]}).json()["id"]
    assert events_of(admin, run_id)[-1] == ("status", {"status": "succeeded"})
    assert [lock for lock in operator.get("/api/locks").json() if lock["host"] == VISION] == []


def test_history_shows_cli_runs_drift_corrections_and_timer_checks_beside_the_console_s(console, probes):
    """A CLI run and a drift correction on the host the console just rolled back, and the timer's check."""
    cli = pyinfra("inventories/sandbox.py", "deploys/vision_rollback.py", data={"vision_waves": "tokens"}, limit=VISION)
    assert cli.returncode == 0, cli.output
    probes.ssh(VISION).check_output(f"sed -i 's/^{TOKENS}=false/{TOKENS}=true/' /opt/vision/.env")  # by hand
    corrected = subprocess.run([sys.executable, "-m", "rollbook", "drift", "inventories/sandbox.py", "--system",
                                "vision", "--limit", VISION, "--correct"], cwd=REPO, capture_output=True, text=True)
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    probes.ssh("control-1").run("systemctl start rollbook-drift@0.service")  # the timer's next tick, now
    operator = console.api("operator")
    assert operator.post("/api/history/collect").status_code == 200
    runs = operator.get("/api/runs", params={"host": VISION}).json()
    assert {"console", "cli", "drift correction", "drift timer"} <= {run["source"] for run in runs}
    console_runs = [run for run in runs if run["source"] == "console" and run["status"] == "succeeded"
                    and run["started"] > console.since]
    read_back = [run for run in runs if run["source"] != "console" and any(
        abs(run["started"] - mine["started"]) < 2 for mine in console_runs)]
    assert console_runs and not read_back  # the console's runs are not read again as CLI runs
    assert operator.get("/api/runs", params={"host": VISION, "outcome": "refused"}).json() == [
        run for run in runs if run["status"] == "refused"]


def test_a_prod_plan_needs_another_person_s_approval(console):
    approver = console.api("approver")
    made = plan(approver, environment="prod", vision_waves="tokens")
    assert made.status_code == 201, made.text
    refused = approver.post("/api/runs", json={"plan": made.json()["id"]})
    assert refused.status_code == 403 and "approval" in refused.json()["detail"]
    own = approver.post(f"/api/plans/{made.json()['id']}/approve")
    assert own.status_code == 403 and "cannot approve a plan they requested" in own.json()["detail"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def signed_in(browser, console, name: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(console.url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", console.users[name][1])
    page.click("button")
    page.wait_for_url(console.url + "/")
    return page


def test_in_the_browser_a_rollback_streams_its_output_live_and_converges_the_host(browser, console, probes):
    page = signed_in(browser, console, "operator")
    page.screenshot(path=SCREENSHOTS / "jobs.png", full_page=True)
    page.goto(console.url + "/jobs/vision/enable")
    page.select_option("select[name=environment]", "sandbox")
    page.fill("input[name=hosts]", VISION)
    page.click("#plan")
    page.click("#run")
    page.wait_for_selector("#run-status .status.succeeded", timeout=300_000)
    page.goto(console.url + "/jobs/vision/rollback")
    page.select_option("select[name=environment]", "sandbox")
    page.fill("input[name=hosts]", VISION)
    page.fill("input[name=vision_waves]", "tokens")
    page.screenshot(path=SCREENSHOTS / "job.png", full_page=True)
    page.click("#plan")
    page.wait_for_selector("#digest")
    assert "VISION_TOKENS_COUNT_ENABLED" in page.inner_text("pre.plan")
    page.screenshot(path=SCREENSHOTS / "plan.png", full_page=True)
    page.click("#run")
    run_url = page.url
    page.wait_for_selector("#output .line")  # output arrives while the run goes, with no reload
    assert page.url == run_url
    page.wait_for_selector("#run-status .status.succeeded", timeout=300_000)
    assert page.inner_text(f"td[data-host='{VISION}']") == "succeeded"
    assert "Verify the vision worker" in page.inner_text("#output")
    page.screenshot(path=SCREENSHOTS / "run.png", full_page=True)
    assert probes.compose_env(VISION, "worker")[TOKENS] == "false"
    page.goto(console.url + "/history?host=" + VISION)
    sources = set(page.locator("tr.run td:nth-child(2)").all_inner_texts())
    assert {"console", "cli", "drift correction", "drift timer"} <= sources, sources  # beside the console's runs
    page.screenshot(path=SCREENSHOTS / "history.png", full_page=True)


def test_in_the_browser_a_viewer_cannot_launch_and_a_self_approval_is_not_offered(browser, console):
    viewer = signed_in(browser, console, "viewer")
    viewer.goto(console.url + "/jobs/vision/rollback")
    assert viewer.locator("#plan").count() == 0 and "may read, not plan" in viewer.content()
    approver = signed_in(browser, console, "approver")
    approver.goto(console.url + "/jobs/vision/rollback")
    approver.select_option("select[name=environment]", "prod")
    approver.fill("input[name=hosts]", VISION)
    approver.fill("input[name=vision_waves]", "tokens")
    approver.click("#plan")
    approver.wait_for_selector("#digest")
    assert approver.locator("#approve").count() == 0
    assert "needs the approval of someone other than approver" in approver.content()
    approver.click("#run")
    assert "needs another person's approval" in approver.inner_text("#refusal")
