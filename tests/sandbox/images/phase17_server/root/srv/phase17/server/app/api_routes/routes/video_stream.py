"""Phase 17: WebSocket video stream (/ws/video/stream?pipeline_id=...).

Each connection gets a SessionManager; the ``finally`` block releases it
(``websocket.state.session = None``), as the runbook's known-issues section asks.
"""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.streaming import PIPELINES, SessionManager

router = APIRouter()


@router.websocket("/ws/video/stream")
async def video_stream(websocket: WebSocket, pipeline_id: str = ""):
    if pipeline_id not in PIPELINES:
        await websocket.close(code=1008)
        return
    await websocket.accept()
    session = SessionManager(pipeline_id).open()
    websocket.state.session = session
    try:
        await websocket.send_json({"status": "ready", "pipeline_id": pipeline_id})
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            session.received += 1
            await websocket.send_json({"frame": session.received, "dropped": 0})
    except WebSocketDisconnect:
        pass
    finally:
        session.close()
        websocket.state.session = None
