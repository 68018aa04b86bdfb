"""The ASGI application uvicorn serves: ``app.main:app``, with WebSocket upgrades to a path that
has no route answered ``404 Not Found``.

Why: Starlette answers an unrouted WebSocket with ``websocket.close`` before accepting it, which
uvicorn turns into ``403 Forbidden``. The runbook expects ``404`` once the stream router is
commented out, so this wrapper answers an unrouted upgrade with an HTTP 404 through the ASGI
"WebSocket Denial Response" extension (``websocket.http.response``) when the server offers it
(``serve.py`` adds it to Debian bookworm's uvicorn 0.17; newer uvicorn has it built in). Without
the extension the request goes to the app unchanged (403). main.py never has to change for it.

    uvicorn app.asgi:application     # what serve.py runs
"""

from starlette.routing import Match

from app.main import app

DENIAL = "websocket.http.response"


def routed(scope) -> bool:
    """Whether some route of the app matches this WebSocket scope (path and type)."""
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


async def application(scope, receive, send):
    if scope["type"] == "websocket" and DENIAL in scope.get("extensions", {}) and not routed(scope):
        await send({"type": "websocket.http.response.start", "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]})
        await send({"type": "websocket.http.response.body", "body": b"Not Found"})
        return
    await app(scope, receive, send)
