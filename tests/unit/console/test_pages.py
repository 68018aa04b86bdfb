"""console.pages: sign-in, the CSRF token on every form, escaped output, the security headers."""

import re

import pytest
from fastapi.testclient import TestClient

from rollbook.console.api import create_app
from rollbook.console.pages import add_pages

from .conftest import a_plan


@pytest.fixture
def client(console):
    app = create_app(console)
    add_pages(app)
    return TestClient(app)


def signed_in(client, name="olga", password="o") -> str:
    assert client.post("/login", data={"name": name, "password": password}, follow_redirects=False).status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)[1]


def test_a_page_asks_to_sign_in_and_a_wrong_password_is_refused(client):
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert client.post("/login", data={"name": "olga", "password": "bad"}).status_code == 401


def test_every_form_needs_the_session_s_csrf_token(client, console):
    csrf = signed_in(client)
    plan = a_plan(console, environment="prod")
    assert client.post(f"/plans/{plan['id']}/run", data={}).status_code == 403
    assert client.post(f"/plans/{plan['id']}/run", data={"csrf": "forged"}).status_code == 403
    answer = client.post(f"/plans/{plan['id']}/run", data={"csrf": csrf})
    assert answer.status_code == 403 and "needs another person" in answer.text  # past the token: the rule


def test_the_plan_page_offers_approval_to_another_approver_only(client, console):
    plan = a_plan(console, requester="anna")
    signed_in(client, "anna", "a")
    assert 'id="approve"' not in client.get(f"/plans/{plan['id']}").text
    client.cookies.clear()
    signed_in(client, "alex", "x")
    assert 'id="approve"' in client.get(f"/plans/{plan['id']}").text


def test_host_output_shows_as_text(client, console):
    signed_in(client)
    plan = a_plan(console, environment="sandbox")
    run = console.store.add_run(plan, "olga", status="failed")
    output = console.config.state / "evil.log"
    output.write_bytes(b"<script>alert(1)</script>\n\x1b[2K\rVISION_FLAG: true\n")
    console.store.set_output(run["id"], str(output))
    page = client.get(f"/runs/{run['id']}/lines").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\\x1b[2K\\rVISION_FLAG" in page


def test_pages_forbid_framing_and_sniffing(client):
    headers = client.get("/login").headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_a_50_mb_output_reaches_a_page_in_bounded_pieces(client, console):
    signed_in(client)
    plan = a_plan(console, environment="sandbox")
    run = console.store.add_run(plan, "olga")
    output = console.config.state / "big.log"
    line = b"    [vision-1]      " + b"x" * 80 + b"\n"
    with open(output, "wb") as handle:
        handle.write(line * (50 * 1024 * 1024 // len(line)))
    console.store.set_output(run["id"], str(output))
    console.store.update(run["id"], "succeeded", {"vision-1": "succeeded"})
    live = client.get(f"/runs/{run['id']}/stream")
    assert "earlier output: see the pages or the raw file" in live.text and len(live.content) < 512 * 1024
    paged = client.get(f"/runs/{run['id']}/lines", params={"page_number": 3})
    assert paged.text.count('class="line"') == 2000 and "Next" in paged.text
    assert client.get(f"/runs/{run['id']}").status_code == 200


def test_a_trusted_proxy_s_header_opens_a_session_from_its_addresses_only(tmp_path):
    from rollbook.console.service import Console

    from .conftest import console_config

    proxied = Console(console_config(tmp_path, trusted_proxy={"header": "X-Remote-User", "addresses": ["testclient"]}))
    app = create_app(proxied)
    add_pages(app)
    client = TestClient(app)
    page = client.get("/", headers={"X-Remote-User": "olga"}, follow_redirects=False)
    assert page.status_code == 200 and "olga (operator)" in page.text and 'name="csrf"' in page.text
    assert "rollbook_session" in page.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/", headers={"X-Remote-User": "mallory"}, follow_redirects=False).status_code == 303
    assert client.post("/api/runs", json={"plan": "x"}, headers={"X-Remote-User": "olga"}).status_code == 401
    assert client.get("/api/systems", headers={"X-Remote-User": "olga"}).status_code == 200
    (tmp_path / "b").mkdir()
    elsewhere = Console(console_config(tmp_path / "b", trusted_proxy={"header": "X-Remote-User",
                                                                      "addresses": ["10.0.0.9"]}))
    other = TestClient(create_app(elsewhere))
    assert other.get("/api/systems", headers={"X-Remote-User": "olga"}).status_code == 401


@pytest.mark.parametrize("elsewhere", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_signing_in_never_redirects_to_another_site(client, elsewhere):
    answer = client.post("/login", data={"name": "olga", "password": "o", "next": elsewhere}, follow_redirects=False)
    assert answer.headers["location"] == "/"
