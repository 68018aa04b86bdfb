"""console.api: who may call what (HTTP basic or a session with its CSRF token), the JSON shapes, the
vendored front-end files."""

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from rollbook.console.api import STATIC, create_app
from rollbook.console.auth import CSRF_HEADER
from rollbook.console.pages import add_pages

from .conftest import a_plan


@pytest.fixture(scope="module")
def client(console):
    app = create_app(console)
    add_pages(app)
    return TestClient(app)


def test_the_api_needs_a_user_of_the_file(client):
    assert client.get("/api/systems").status_code == 401
    assert client.get("/api/systems", auth=("vera", "wrong")).status_code == 401
    assert client.get("/api/systems", auth=("nobody", "v")).status_code == 401


def test_a_viewer_reads_the_jobs(client):
    answer = client.get("/api/systems", auth=("vera", "v"))
    assert answer.status_code == 200
    vision = next(job for job in answer.json() if (job["system"], job["action"]) == ("vision", "rollback"))
    assert vision["deploy"] == "deploys/vision_rollback.py"
    assert any(field["name"] == "vision_waves" for field in vision["fields"])


def test_a_viewer_cannot_plan_and_bad_input_is_refused_before_any_host(client):
    body = {"system": "vision", "action": "rollback", "environment": "sandbox", "hosts": ["vision-1"],
            "data": {"vision_waves": "tokens"}}
    assert client.post("/api/plans", json=body, auth=("vera", "v")).status_code == 403
    for changed, named in (({"environment": "moon"}, "moon"), ({"hosts": ["-rf"]}, "'-rf'"),
                           ({"data": {"vision_waves": "nope"}}, "vision_waves"),
                           ({"data": {"rollbook_sudo": "false"}}, "rollbook_sudo"), ({"system": "mail"}, "mail")):
        answer = client.post("/api/plans", json=body | changed, auth=("olga", "o"))
        assert answer.status_code in (404, 422) and named in answer.json()["detail"], answer.json()


def test_a_prod_plan_runs_only_approved_by_another_person(client, console):
    plan = a_plan(console, requester="anna")
    assert client.post("/api/runs", json={"plan": plan["id"]}, auth=("anna", "a")).status_code == 403
    assert client.post(f"/api/plans/{plan['id']}/approve", auth=("anna", "a")).status_code == 403  # her own
    assert client.post(f"/api/plans/{plan['id']}/approve", auth=("olga", "o")).status_code == 403  # an operator
    assert "needs another person's approval" in client.post("/api/runs", json={"plan": plan["id"]},
                                                            auth=("anna", "a")).json()["detail"]


def test_a_self_service_plan_has_nothing_to_approve(client, console):
    plan = a_plan(console, environment="sandbox")
    answer = client.post(f"/api/plans/{plan['id']}/approve", auth=("anna", "a"))
    assert answer.status_code == 409 and "self-service" in answer.json()["detail"]


def test_a_session_call_needs_its_csrf_token(client, console):
    login = client.post("/login", data={"name": "olga", "password": "o"}, follow_redirects=False)
    assert login.status_code == 303
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    plan = a_plan(console, environment="prod")
    refused = client.post("/api/runs", json={"plan": plan["id"]})
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    session = client.app.state.sessions.get(client.cookies.get("rollbook_session"))
    allowed = client.post("/api/runs", json={"plan": plan["id"]}, headers={CSRF_HEADER: session.csrf})
    assert allowed.status_code == 403 and "approval" in allowed.json()["detail"]  # past the CSRF check
    client.cookies.clear()


def test_the_openapi_document_names_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/systems", "/api/plans", "/api/plans/{plan_id}/approve", "/api/runs", "/api/runs/{run_id}",
            "/api/runs/{run_id}/events"} <= set(paths)


def test_the_api_reference_is_served_from_vendored_files(client):
    page = client.get("/docs").text
    assert "/static/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/static/swagger-ui-bundle.js").status_code == 200


def test_the_vendored_files_are_the_npm_packages_files():
    listed = json.loads((STATIC / "VENDORED.json").read_text())["files"]
    for name, entry in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == entry["sha256"], name


def test_only_an_admin_may_plan_a_lock_takeover(client):
    body = {"system": "vision", "action": "rollback", "environment": "sandbox", "hosts": ["vision-1"],
            "data": {"vision_waves": "tokens"}, "takeover": True}
    answer = client.post("/api/plans", json=body, auth=("anna", "a"))
    assert answer.status_code == 403 and "take over a lock" in answer.json()["detail"]
