"""GET /v1/health: liveness, and how many stream sessions are live right now."""

from fastapi import APIRouter

from app.streaming import SESSIONS

router = APIRouter()


@router.get("/v1/health")
def health() -> dict:
    return {"status": "ok", "stream_sessions": len(SESSIONS)}
