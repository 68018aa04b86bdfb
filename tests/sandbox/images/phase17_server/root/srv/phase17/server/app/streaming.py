"""Phase 17 stream sessions: one SessionManager per WebSocket connection, released on disconnect."""

import settings

PIPELINES = {"yolo_ocr", "yolo", "ocr"}
SESSIONS: dict[int, "SessionManager"] = {}  # the live sessions, by id
_LEAKED: list["SessionManager"] = []  # only with settings.STREAM_SESSION_LEAK (fault injection)


class SessionManager:
    """A connection's state: its pipeline and a preallocated frame buffer."""

    def __init__(self, pipeline_id: str):
        self.pipeline_id = pipeline_id
        self.frames = bytearray(settings.STREAM_FRAME_BUFFER_BYTES)
        self.received = 0

    def open(self) -> "SessionManager":
        SESSIONS[id(self)] = self
        return self

    def close(self):
        SESSIONS.pop(id(self), None)
        if settings.STREAM_SESSION_LEAK:
            _LEAKED.append(self)
