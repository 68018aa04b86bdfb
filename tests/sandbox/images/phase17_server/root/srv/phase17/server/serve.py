"""Start the server: the virtualenv's uvicorn serving ``app.asgi:application``.

    /srv/phase17/venv/bin/python serve.py --host 0.0.0.0 --port 8000

Debian bookworm's uvicorn (0.17) cannot send an HTTP response instead of accepting a WebSocket
(the ASGI "WebSocket Denial Response" extension, built into uvicorn >= 0.30): an app that closes
before accepting always gets ``403``. ``DenialWebSocketProtocol`` adds that extension to its
websockets protocol, so ``app/asgi.py`` can answer an unrouted upgrade ``404`` the standard way.
"""

import argparse
import http

import uvicorn
from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol


class DenialWebSocketProtocol(WebSocketProtocol):
    """uvicorn's websockets protocol plus ``websocket.http.response.start`` / ``.body`` before accept."""

    _denial = None  # (status, headers, [body parts]) while a denial response is being sent

    async def run_asgi(self):
        self.scope.setdefault("extensions", {})["websocket.http.response"] = {}
        await super().run_asgi()

    async def asgi_send(self, message):
        kind = message["type"]
        if not self.handshake_started_event.is_set() and kind == "websocket.http.response.start":
            headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in message.get("headers", [])]
            self._denial = (http.HTTPStatus(int(message["status"])), headers, [])
            return
        if not self.handshake_started_event.is_set() and kind == "websocket.http.response.body" and self._denial:
            status, headers, body = self._denial
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.logger.info('%s - "WebSocket %s" %d', self.scope["client"], self.scope["path"], status.value)
                self.initial_response = (status, headers, b"".join(body))
                self.handshake_started_event.set()
                self.closed_event.set()
            return
        await super().asgi_send(message)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run("app.asgi:application", host=args.host, port=args.port, ws=DenialWebSocketProtocol,
                log_level="info")


if __name__ == "__main__":
    main()
