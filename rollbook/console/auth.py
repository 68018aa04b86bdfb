"""Who is asking: HTTP basic against the users file (scripts, the API), or a session cookie set by the
sign-in page (HttpOnly, SameSite=Strict), whose every form and unsafe call carries the session's CSRF
token; where configured, a trusted reverse proxy's header opens that session instead of the sign-in
page (never an unsafe call by itself: a browser's cross-site request would carry it too)::

    sessions = Sessions()
    token, csrf = sessions.open(User("olga", "operator"))
    sessions.user(token)          # User('olga', 'operator'); None once expired or closed
"""

import secrets
import time
from dataclasses import dataclass

from .users import User

COOKIE = "rollbook_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires: float


class Sessions:
    """Open sessions, in memory: a restarted console signs everyone out."""

    def __init__(self):
        self._open: dict[str, Session] = {}

    def open(self, user: User) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._open[token] = Session(user, csrf, time.time() + SESSION_SECONDS)
        return token, csrf

    def get(self, token: str | None) -> Session | None:
        session = self._open.get(token or "")
        if session and session.expires < time.time():
            del self._open[token]
            return None
        return session

    def user(self, token: str | None) -> User | None:
        session = self.get(token)
        return session.user if session else None

    def close(self, token: str | None):
        self._open.pop(token or "", None)


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(session.csrf, given)


def proxy_user(request, proxy, users) -> User | None:
    """The user a trusted reverse proxy names (``proxy``: the console's ``trusted_proxy``), only on a request
    from one of its addresses and only when the users file holds that name; None otherwise."""
    if proxy is None or request.client is None or request.client.host not in proxy.addresses:
        return None
    name = request.headers.get(proxy.header, "")
    return users.named(name) if name else None
