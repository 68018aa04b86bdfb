"""Phase 15: video analysis (POST /v1/video/analyze, GET /v1/video/pipelines)."""

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from app.streaming import PIPELINES

router = APIRouter(prefix="/v1/video")


class AnalyzeRequest(BaseModel):
    pipeline_id: str
    frames: list[str]


@router.get("/pipelines")
def pipelines() -> dict:
    return {"pipelines": sorted(PIPELINES)}


@router.post("/analyze")
def analyze(request: AnalyzeRequest) -> dict:
    if request.pipeline_id not in PIPELINES:
        raise HTTPException(status_code=404, detail=f"unknown pipeline {request.pipeline_id}")
    return {"pipeline_id": request.pipeline_id, "frames": len(request.frames),
            "detections": [{"frame": i, "labels": []} for i, _ in enumerate(request.frames)]}
