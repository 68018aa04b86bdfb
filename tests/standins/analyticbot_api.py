"""Stand-in for the analyticbot API (systemd unit ``analyticbot-api``, port 10300).

Reads its flags from the environment once, at start (``EnvironmentFile=`` of the
unit), so an ``.env.production`` edit is invisible until a restart. It logs the
runbook's ``Feature flags - Advanced: …, Time-weighting: …, Content-type: …`` line
with the effective values, tells systemd it is ready (``Type=notify``), and serves:

- ``GET /health``: ``{"status": "healthy", "service": "analyticbot", "version": …}``;
- ``GET /analytics/predictive/best-times/<channel>?days=N`` with ``Authorization:
  Bearer $API_TOKEN``: ``data.total_posts_analyzed`` always, the advanced fields
  (``best_day_hour_combinations``, ``time_weighted_scores``, ``content_type_breakdown``)
  only with the flags that enable them. Content-type analysis reads ``has_video`` and
  ``has_media``; without those columns it logs an ERROR and answers 500.

An invalid boolean flag logs an ERROR and exits 1 (the unit then fails to start).
"""

import json
import os
import socket
import sys
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

APP_DIR = Path(__file__).resolve().parent
VERSION = (APP_DIR / "VERSION").read_text().strip() if (APP_DIR / "VERSION").exists() else "0.0.0"
LOG_FILE = os.environ.get("LOG_FILE", "/var/log/analyticbot/production.log")


def log(level: str, message: str):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with open(LOG_FILE, "a") as handle:
        handle.write(f"{stamp} [{level}] {message}\n")


def flag(name: str) -> bool:
    value = os.environ.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        log("ERROR", f"Invalid value for {name}: {value!r}; refusing to start")
        sys.exit(1)
    return value in ("true", "1", "yes")


ADVANCED = flag("ENABLE_ADVANCED_RECOMMENDATIONS")
TIME_WEIGHTING = ADVANCED and flag("ENABLE_TIME_WEIGHTING")
CONTENT_TYPE = ADVANCED and flag("ENABLE_CONTENT_TYPE_ANALYSIS")


def best_times(channel: str, days: int) -> dict:
    with psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=5) as db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM posts WHERE channel_id::text = %s OR %s = 'all'", (channel, channel))
        total = cursor.fetchone()[0]
        data = {"channel_id": channel, "days": days, "total_posts_analyzed": total,
                "best_times": [{"hour": 9, "score": 0.8}, {"hour": 18, "score": 0.7}]}
        if ADVANCED:
            data["best_day_hour_combinations"] = [{"day": "tue", "hour": 9, "score": 0.91}]
        if TIME_WEIGHTING:
            data["time_weighted_scores"] = {"recent_weight": 0.7}
        if CONTENT_TYPE:
            cursor.execute("SELECT count(*) FILTER (WHERE has_video), count(*) FILTER (WHERE has_media) FROM posts")
            video, media = cursor.fetchone()
            data["content_type_breakdown"] = {"video": video, "media": media}
    return {"status": "success", "data": data}


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, payload: dict):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            self._send(200, {"status": "healthy", "timestamp": datetime.now(timezone.utc).isoformat(),
                             "service": "analyticbot", "version": VERSION})
        elif url.path.startswith("/analytics/predictive/best-times/"):
            if self.headers.get("Authorization") != f"Bearer {os.environ.get('API_TOKEN', '')}":
                self._send(401, {"detail": "Not authenticated"})
                return
            days = int(dict(p.split("=", 1) for p in url.query.split("&") if "=" in p).get("days", "90"))
            try:
                self._send(200, best_times(url.path.rsplit("/", 1)[-1], days))
            except psycopg2.Error as error:
                log("ERROR", f"best-times query failed: {error.pgerror or error}".strip())
                self._send(500, {"detail": "internal error"})
        else:
            self._send(404, {"detail": "Not Found"})

    def log_message(self, *args):
        pass


def notify_ready():
    address = os.environ.get("NOTIFY_SOCKET")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect("\0" + address[1:] if address.startswith("@") else address)
            sock.sendall(b"READY=1")


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("API_PORT", "10300"))), Handler)
    log("INFO", f"Starting analyticbot API {VERSION} (pid {os.getpid()})")
    log("INFO", f"Feature flags - Advanced: {ADVANCED}, Time-weighting: {TIME_WEIGHTING}, Content-type: {CONTENT_TYPE}")
    if not ADVANCED:
        log("INFO", "Using SIMPLE query (legacy mode)")
    notify_ready()
    server.serve_forever()


if __name__ == "__main__":
    time.tzset()
    main()
