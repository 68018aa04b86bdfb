"""The console's JSON API; the pages call the same service (``service.Console``). Every route needs a user:
HTTP basic against the users file, or the pages' session cookie with its CSRF token on every unsafe call::

    app = create_app(Console(ConsoleConfig.read(Path("/etc/rollbook-console/console.toml"))))
    # POST /api/plans {"system": "vision", "action": "rollback", "environment": "sandbox",
    #                  "hosts": ["vision-1"], "data": {"vision_waves": "tokens"}}   -> 201 {"id", "digest", "hosts"}
    # POST /api/runs {"plan": id} -> 202 {"id"};  GET /api/runs/{id}/events: server-sent events
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .auth import COOKIE, CSRF_HEADER, Sessions, csrf_ok, proxy_user
from .events import run_events
from .jobs import jobs
from .service import Console, Refused
from .users import User

STATIC = Path(__file__).parent / "static"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DOCS_POLICY = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    action: str
    environment: str
    hosts: list[str] = Field(default_factory=list, max_length=500)
    data: dict[str, str | int | float | bool] = Field(default_factory=dict)
    takeover: bool = False  # admins: take over a stale lock the hosts hold


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=500)


def run_view(run: dict) -> dict:
    """A run as the API shows it (no file paths)."""
    return {key: run[key] for key in ("id", "plan", "source", "requester", "system", "action", "environment",
                                      "status", "started", "finished")} | {"hosts": run["host_status"]}


def plan_view(plan: dict) -> dict:
    return {key: plan[key] for key in ("id", "requester", "system", "action", "environment", "hosts", "data",
                                       "digest", "approver", "used")} | {"plan": plan["document"]["plan"]}


def sse(kind: str, payload) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"event: {kind}\n" + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"


def create_app(console: Console) -> FastAPI:
    app = FastAPI(title="rollbook console", docs_url=None, redoc_url=None)
    app.state.console, app.state.sessions = console, Sessions()
    basic = HTTPBasic(realm="rollbook", auto_error=False)

    def signed_in(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> User:
        if credentials is not None:
            user = console.users.authenticate(credentials.username, credentials.password)
            if user is not None:
                return user
        else:
            session = app.state.sessions.get(request.cookies.get(COOKIE))
            if session is not None:
                if request.method not in SAFE_METHODS and not csrf_ok(session, request.headers.get(CSRF_HEADER)):
                    raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")
                return session.user
            proxied = proxy_user(request, console.config.trusted_proxy, console.users)
            if proxied is not None and request.method in SAFE_METHODS:  # a change needs the session's token
                return proxied
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown user or wrong password",
                            headers={"WWW-Authenticate": 'Basic realm="rollbook"'})

    Signed = Annotated[User, Depends(signed_in)]
    app.state.signed_in = signed_in

    @app.exception_handler(Refused)
    def refused(request: Request, error: Refused):
        return JSONResponse({"detail": str(error)}, status_code=error.status)

    @app.get("/api/systems")
    def systems(user: Signed) -> list[dict]:
        """Every job: system, action, the deploy it runs, and its form's fields."""
        return [{"system": job.system, "action": job.action, "title": job.title, "deploy": job.deploy,
                 "fields": [asdict(field) for field in job.fields]} for job in jobs()]

    @app.get("/api/environments")
    def environments(user: Signed) -> dict:
        return {name: {"self_service": env.self_service} for name, env in console.config.environments.items()}

    @app.post("/api/plans", status_code=201)
    def plan(body: PlanRequest, user: Signed) -> dict:
        """The job's ``--dry`` plan on the hosts, and its digest: what a run executes, and an approval binds."""
        made = console.plan(user, system=body.system, action=body.action, environment=body.environment,
                            hosts=body.hosts, data={key: _text(value) for key, value in body.data.items()},
                            takeover=body.takeover)
        return {"id": made["id"], "digest": made["digest"], "hosts": made["hosts"]}

    @app.get("/api/plans/{plan_id}")
    def plan_of(plan_id: str, user: Signed) -> dict:
        plan = console.store.plan(plan_id)
        if plan is None:
            raise Refused(404, f"no plan {plan_id}")
        return plan_view(plan)

    @app.post("/api/plans/{plan_id}/approve")
    def approve(plan_id: str, user: Signed, body: ApproveRequest | None = None) -> dict:
        return plan_view(console.approve(user, plan_id, (body or ApproveRequest()).reason))

    @app.post("/api/runs", status_code=202)
    def start(body: RunRequest, user: Signed) -> dict:
        return {"id": console.start(user, body.plan)["id"]}

    @app.get("/api/runs")
    def runs(user: Signed, host: str = "", system: str = "", environment: str = "", outcome: str = "",
             who: str = "") -> list[dict]:
        return [run_view(run) for run in console.store.runs(host=host, system=system, environment=environment,
                                                            outcome=outcome, who=who)]

    @app.get("/api/locks")
    def locks(user: Signed) -> list[dict]:
        """The locks every environment's hosts hold now: host, system, operator, since, expires, run_id."""
        return console.locks(user)

    @app.post("/api/history/collect")
    def collect(user: Signed) -> dict:
        """Read every environment's hosts' history now (runs from the CLI and the drift timer)."""
        return console.collect(user)

    @app.get("/api/runs/{run_id}")
    def run(run_id: str, user: Signed) -> dict:
        return run_view(console.run(run_id))

    @app.post("/api/runs/{run_id}/cancel")
    def cancel(run_id: str, user: Signed) -> dict:
        return run_view(console.cancel(user, run_id))

    @app.get("/api/runs/{run_id}/events")
    def events(run_id: str, user: Signed) -> StreamingResponse:
        """Server-sent events: ``host`` (a host's status), ``output`` (a line), then ``status`` (the end)."""
        console.run(run_id)

        async def stream():
            async for kind, payload in run_events(console, run_id):
                yield sse(kind, payload)
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/api/runs/{run_id}/output")
    def output(run_id: str, user: Signed) -> FileResponse:
        """The run's whole output, as pyinfra printed it (a download)."""
        path = console.output(console.run(run_id))
        if path is None:
            raise Refused(404, f"run {run_id} has no stored output (removed after the retention time?)")
        return FileResponse(path, media_type="text/plain; charset=utf-8", filename=f"run-{run_id}.log",
                            content_disposition_type="attachment")

    @app.get("/docs", include_in_schema=False)
    def docs():
        """The API's reference (Swagger UI, vendored: no CDN)."""
        page = get_swagger_ui_html(openapi_url="/openapi.json", title="rollbook console API",
                                   swagger_js_url="/static/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui.css", swagger_favicon_url="")
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _text(value) -> str:
    """A JSON value as ``--data`` text (booleans as the strict words the models read)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
