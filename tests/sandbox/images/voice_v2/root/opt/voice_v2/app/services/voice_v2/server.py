"""Stand-in for the voice-v2 service (systemd ``voice-v2-service`` or compose service ``voice-v2``, port 8000).

Reads its settings and provider configuration once at start (``core.config``: the environment, i.e.
``.env`` through the unit's ``EnvironmentFile=`` or compose's ``env_file``); serves ``GET /health``
(the runbook's check): ``{"status": "healthy", "version": ...}``.
"""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .core.config import get_config, setting

VERSION = (Path(__file__).resolve().parent / "VERSION").read_text().strip()
CONFIG = get_config()  # a provider settings file it cannot read stops the start


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] == "/health":
            return self._send(200, {"status": "healthy", "service": "voice_v2", "version": VERSION})
        return self._send(404, {"error": "not found"})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(setting("VOICE_V2_PORT", "8000"))
    print(f"voice_v2 {VERSION} on :{port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
