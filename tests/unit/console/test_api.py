"""console.api: HTTP basic against the users file, the roles, GET /api/systems, the vendored front-end files."""

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from rollbook.console.api import STATIC, create_app
from rollbook.console.users import Users, hashed


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("console") / "console-users"
    path.write_text(f"vera viewer {hashed('v')}\nolga operator {hashed('o')}\n")
    path.chmod(0o600)
    return TestClient(create_app(Users.load(path)))


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


def test_the_openapi_document_names_the_routes(client):
    assert "/api/systems" in client.get("/openapi.json").json()["paths"]


def test_the_vendored_files_are_the_npm_packages_files():
    listed = json.loads((STATIC / "VENDORED.json").read_text())["files"]
    for name, entry in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == entry["sha256"], name
