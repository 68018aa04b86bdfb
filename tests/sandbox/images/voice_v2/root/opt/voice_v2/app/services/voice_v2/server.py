"""Stand-in for the voice-v2 service (systemd ``voice-v2-service`` or compose service ``voice-v2``, port 8000).

Reads, once at start: its environment (``.env``: ``EnvironmentFile=`` of the unit, ``env_file`` of
compose) and the provider settings ``$VOICE_V2_PROVIDERS_FILE`` (JSON)::

    {"stt": {"openai": {"enabled": true, "priority": 2}, ...}, "tts": {...}}

A provider is connected when its credentials ``<NAME>_API_KEY`` hash to one of the vendor's valid
keys (``$VOICE_V2_VENDOR_KEYS``: sha256 lines; a missing or poisoned key is disconnected). Serves:

- ``GET /health``: status, version, and what the process runs: ``code`` (sha256 over its code
  tree), ``requirements`` (the venv's installed-requirements stamp), ``providers_sha256`` (of the
  settings file it read);
- ``GET /providers``: per kind and provider ``enabled``, ``priority``, ``connected``; ``failed_providers``
  lists the enabled ones not connected;
- ``GET /stt`` and ``GET /tts?text=...``: answered by the enabled, connected provider of the best
  (lowest) priority, after ``VOICE_V2_TTS_DELAY_MS`` for TTS; 503 when none is connected.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

CODE_DIR = Path(__file__).resolve().parent
VERSION = (CODE_DIR / "VERSION").read_text().strip()
TREE_HASH = ("find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1")


def tree_hash(path) -> str:
    return subprocess.run(["sh", "-c", TREE_HASH], cwd=path, capture_output=True, text=True).stdout.strip()


def read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


PROVIDERS_FILE = os.environ.get("VOICE_V2_PROVIDERS_FILE", "config/providers.json")
PROVIDERS_TEXT = read(PROVIDERS_FILE)
PROVIDERS = json.loads(PROVIDERS_TEXT or "{}")
VALID_KEYS = set(read(os.environ.get("VOICE_V2_VENDOR_KEYS", "/etc/voice_v2/vendor-keys")).split())
TTS_DELAY = int(os.environ.get("VOICE_V2_TTS_DELAY_MS", "0") or 0) / 1000
STATE = {
    "status": "healthy", "service": "voice_v2", "version": VERSION, "code": tree_hash(CODE_DIR),
    "requirements": read(os.path.join(sys.prefix, "rollbook-requirements.sha256")).strip(),
    "providers_sha256": hashlib.sha256(PROVIDERS_TEXT.encode()).hexdigest(),
    "optimized": os.environ.get("VOICE_V2_OPTIMIZED", "false"),
}


def connected(name: str) -> bool:
    key = os.environ.get(f"{name.upper()}_API_KEY", "")
    return bool(key) and hashlib.sha256(key.encode()).hexdigest() in VALID_KEYS


def providers() -> dict:
    report, failed = {}, []
    for kind in ("stt", "tts"):
        report[kind] = {}
        for name, entry in sorted((PROVIDERS.get(kind) or {}).items()):
            ok = connected(name)
            report[kind][name] = {"enabled": bool(entry.get("enabled")), "priority": entry.get("priority"),
                                  "connected": ok}
            if entry.get("enabled") and not ok:
                failed.append(f"{kind}:{name}")
    report["failed_providers"] = failed
    return report


def pick(kind: str) -> str | None:
    usable = [(entry.get("priority", 99), name) for name, entry in (PROVIDERS.get(kind) or {}).items()
              if entry.get("enabled") and connected(name)]
    return min(usable)[1] if usable else None


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            return self._send(200, STATE)
        if url.path == "/providers":
            return self._send(200, providers())
        if url.path in ("/stt", "/tts"):
            kind = url.path[1:]
            provider = pick(kind)
            if provider is None:
                return self._send(503, {"ok": False, "error": f"no connected {kind} provider"})
            if kind == "tts":
                time.sleep(TTS_DELAY)
                text = parse_qs(url.query).get("text", ["test"])[0]
                return self._send(200, {"ok": True, "provider": provider, "audio_bytes": 320 * len(text)})
            return self._send(200, {"ok": True, "provider": provider, "text": "тест"})
        return self._send(404, {"error": "not found"})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("VOICE_V2_PORT", "8000"))
    print(f"voice_v2 {VERSION} on :{port}, code {STATE['code'][:12]}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
