"""Phase 16: batch jobs (POST /v1/jobs, GET /v1/jobs/{id}), kept in memory."""

import itertools

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

router = APIRouter(prefix="/v1/jobs")
_JOBS: dict[int, dict] = {}
_IDS = itertools.count(1)


class JobRequest(BaseModel):
    pipeline_id: str
    video_url: str


@router.post("", status_code=201)
def create(request: JobRequest) -> dict:
    job = {"id": next(_IDS), "pipeline_id": request.pipeline_id, "video_url": request.video_url, "status": "queued"}
    _JOBS[job["id"]] = job
    return job


@router.get("/{job_id}")
def get(job_id: int) -> dict:
    if job_id not in _JOBS:
        raise HTTPException(status_code=404, detail="job not found")
    return _JOBS[job_id]
