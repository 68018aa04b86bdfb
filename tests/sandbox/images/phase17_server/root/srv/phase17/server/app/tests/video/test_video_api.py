"""Phase 15: video analysis over HTTP."""

from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_pipelines_are_listed():
    response = client.get("/v1/video/pipelines")
    assert response.status_code == 200
    assert "yolo_ocr" in response.json()["pipelines"]


def test_analyze_returns_one_detection_per_frame():
    response = client.post("/v1/video/analyze", json={"pipeline_id": "yolo_ocr", "frames": ["a", "b", "c"]})
    assert response.status_code == 200
    assert response.json()["frames"] == 3 and len(response.json()["detections"]) == 3


def test_analyze_refuses_an_unknown_pipeline():
    assert client.post("/v1/video/analyze", json={"pipeline_id": "nope", "frames": []}).status_code == 404
