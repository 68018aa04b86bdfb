"""Phase 17 server: the Phase 15/16 HTTP API plus the Phase 17 WebSocket video stream."""

from fastapi import FastAPI

from app.api_routes.routes.health import router as health_router
from app.api_routes.routes.jobs import router as jobs_router
from app.api_routes.routes.video import router as video_router
from app.api_routes.routes.video_stream import router as video_stream_router

app = FastAPI(title="phase17-server", version="17.0.0")

app.include_router(health_router)
app.include_router(video_router)
app.include_router(jobs_router)
app.include_router(video_stream_router)
