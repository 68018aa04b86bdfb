"""A local incoming webhook for the tests: a real HTTP server on 127.0.0.1 (a free port) that keeps what
Apprise posts to it, and the same named as the sandbox's notification endpoint (``.sandbox/notify_url``,
which ``group_data/sandbox.py`` and ``group_data/sandbox_prod.py`` read as ``rollbook_notify_webhook``)::

    with receiver() as (url, received):
        notify.post(url, "x")
    received        # [('application/json', {'text': 'x'})]
"""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer


@contextmanager
def receiver():
    """``(url, received)`` while the block runs; ``received`` holds ``(content type, JSON body)`` pairs."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Content-Type"],
                             json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()


@contextmanager
def sandbox_receiver():
    """``receiver()``, named in the sandbox's notify_url file while the block runs (the runs it starts notify it)."""
    from rollbook.sandbox.state import notify_url_path

    with receiver() as (url, received):
        notify_url_path().write_text(f"{url}\n")
        try:
            yield url, received
        finally:
            notify_url_path().unlink(missing_ok=True)
