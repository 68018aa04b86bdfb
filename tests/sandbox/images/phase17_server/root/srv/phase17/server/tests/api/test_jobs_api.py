"""Phase 16: batch jobs and health over HTTP."""

from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health():
    response = client.get("/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_job_is_created_and_read_back():
    created = client.post("/v1/jobs", json={"pipeline_id": "yolo_ocr", "video_url": "s3://videos/a.mp4"})
    assert created.status_code == 201
    job = client.get(f"/v1/jobs/{created.json()['id']}").json()
    assert job["status"] == "queued" and job["video_url"] == "s3://videos/a.mp4"


def test_an_unknown_job_is_404():
    assert client.get("/v1/jobs/999999").status_code == 404
