"""GET /v1/health: liveness."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/v1/health")
def health() -> dict:
    return {"status": "ok"}
