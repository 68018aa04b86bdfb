"""The console's JSON API (what exists of it so far), every route behind HTTP basic auth against the
users file::

    app = create_app(Users.load(Path("/etc/rollbook/console-users")))
    # GET /api/systems -> [{"system": "vision", "action": "rollback", "deploy": ..., "fields": [...]}, ...]
"""

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.staticfiles import StaticFiles

from .jobs import jobs
from .users import User, Users, can

STATIC = Path(__file__).parent / "static"


def create_app(users: Users) -> FastAPI:
    app = FastAPI(title="rollbook console", docs_url=None, redoc_url=None)  # /docs needs its assets vendored first
    basic = HTTPBasic(realm="rollbook")

    def signed_in(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> User:
        user = users.authenticate(credentials.username, credentials.password)
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown user or wrong password",
                                headers={"WWW-Authenticate": 'Basic realm="rollbook"'})
        return user

    def holding(right: str):
        def allowed(user: Annotated[User, Depends(signed_in)]) -> User:
            if not can(user, right):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.name} ({user.role}) may not {right}")
            return user
        return allowed

    @app.get("/api/systems")
    def systems(user: Annotated[User, Depends(holding("read"))]) -> list[dict]:
        """Every job: system, action, the deploy it runs, and its form's fields."""
        return [{"system": job.system, "action": job.action, "title": job.title, "deploy": job.deploy,
                 "fields": [asdict(field) for field in job.fields]} for job in jobs()]

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
