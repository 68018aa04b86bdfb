"""The console's pages: Jinja2 templates and htmx (vendored), no build step. Sign-in sets a session cookie
(HttpOnly, SameSite=Strict); every form carries the session's CSRF token; a run's page follows its output
and host statuses over server-sent events without reloading::

    app = create_app(console); add_pages(app)     # /login, /, /jobs/vision/rollback, /plans/ID, /runs/ID, /history
"""

import inspect
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from ..cli.approve import escaped
from ..pipeline.plan import render
from .api import sse
from .auth import COOKIE, CSRF_FIELD, SESSION_SECONDS, csrf_ok, proxy_user
from .events import CHUNK, html_of, run_events, shown_line
from .jobs import job_of, jobs
from .service import Refused
from .users import can

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals["escaped"] = escaped
LINES_PER_PAGE = 2000
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                               "frame-ancestors 'none'; form-action 'self'"}

def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)

def add_pages(app: FastAPI):
    console, sessions = app.state.console, app.state.sessions

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)  # /docs sets its own policy (Swagger UI starts inline)
        return response

    def page(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
        session = getattr(request.state, "session", None) or sessions.get(request.cookies.get(COOKIE))
        return TEMPLATES.TemplateResponse(request, template, {"session": session, "can": can, **values},
                                          status_code=status)

    def session_of(request: Request):
        return sessions.get(request.cookies.get(COOKIE))

    def guarded(handler):
        """A page handler for a signed-in user; a form post needs the session's CSRF token."""
        async def wrapper(request: Request, **kwargs):
            session, opened = session_of(request), ""
            if session is None and request.method == "GET":
                proxied = proxy_user(request, console.config.trusted_proxy, console.users)
                if proxied is not None:
                    opened, _ = sessions.open(proxied)
                    session = sessions.get(opened)
            if session is None:
                return _go(f"/login?next={quote(request.url.path)}")
            request.state.session = session
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(session, form.get(CSRF_FIELD)):
                    return page(request, "error.html", 403, message="the form's CSRF token is missing or wrong")
                kwargs["form"] = form
            try:
                response = await handler(request, session.user, **kwargs)
            except Refused as error:
                response = page(request, "error.html", error.status, message=str(error))
            if opened:
                _set_session(response, request, opened)
            return response
        wrapper.__name__ = handler.__name__
        signature = inspect.signature(handler)  # what FastAPI reads: the path's parameters, not user or form
        wrapper.__signature__ = signature.replace(parameters=[parameter for name, parameter in
                                                              signature.parameters.items() if name not in ("user", "form")])
        return wrapper

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):
        return page(request, "login.html", next=_local(next))

    @app.post("/login")
    def login(request: Request, name: str = Form(), password: str = Form(), next: str = Form("/")):
        user = console.users.authenticate(name, password)
        if user is None:
            return page(request, "login.html", 401, next="/", error="unknown user or wrong password")
        token, _ = sessions.open(user)
        response = _go(_local(next))
        _set_session(response, request, token)
        return response

    @app.post("/logout")
    async def logout(request: Request):
        session = session_of(request)
        form = await request.form()
        if session and csrf_ok(session, form.get(CSRF_FIELD)):
            sessions.close(request.cookies.get(COOKIE))
        response = _go("/login")
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    @guarded
    async def home(request: Request, user):
        return page(request, "index.html", jobs=jobs(), runs=console.store.runs(limit=20))

    @app.get("/jobs/{system}/{action}", response_class=HTMLResponse)
    @guarded
    async def job_page(request: Request, user, system: str, action: str):
        return page(request, "job.html", job=_job(system, action), environments=console.config.environments)

    @app.post("/jobs/{system}/{action}")
    @guarded
    async def job_plan(request: Request, user, system: str, action: str, form):
        job = _job(system, action)
        data = {field.name: str(form.get(field.name, "")) for field in job.fields}
        hosts = str(form.get("hosts", "")).replace(",", " ").split()
        try:
            plan = console.plan(user, system=system, action=action, environment=str(form.get("environment", "")),
                                hosts=hosts, data=data, takeover=form.get("takeover") == "true")
        except Refused as error:
            return page(request, "job.html", error.status, job=job, environments=console.config.environments,
                        error=str(error), given=dict(form))
        return _go(f"/plans/{plan['id']}")

    @app.get("/plans/{plan_id}", response_class=HTMLResponse)
    @guarded
    async def plan_page(request: Request, user, plan_id: str):
        plan = console._plan(plan_id)
        environment = console.environment(plan["environment"])
        return page(request, "plan.html", plan=plan, lines=render(plan["document"]),
                    self_service=environment.self_service)

    @app.post("/plans/{plan_id}/approve")
    @guarded
    async def plan_approve(request: Request, user, plan_id: str, form):
        console.approve(user, plan_id, str(form.get("reason", "")))
        return _go(f"/plans/{plan_id}")

    @app.post("/plans/{plan_id}/run")
    @guarded
    async def plan_run(request: Request, user, plan_id: str, form):
        return _go(f"/runs/{console.start(user, plan_id)['id']}")

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    @guarded
    async def run_page(request: Request, user, run_id: str):
        return page(request, "run.html", run=console.run(run_id))

    @app.post("/runs/{run_id}/cancel")
    @guarded
    async def run_cancel(request: Request, user, run_id: str, form):
        console.cancel(user, run_id)
        return _go(f"/runs/{run_id}")

    @app.get("/runs/{run_id}/stream")
    @guarded
    async def run_stream(request: Request, user, run_id: str):
        """The run page's live view: the last ``CHUNK`` bytes of what is stored so far, then what comes."""
        path = console.output(console.run(run_id))
        start = max(0, path.stat().st_size - CHUNK) if path else 0

        async def stream():
            if start:
                yield sse("line", '<div class="line skipped">… earlier output: see the pages or the raw file</div>')
            async for kind, payload in run_events(console, run_id, start=start):
                name = {"output": "line", "host": f"host-{payload.get('host')}", "status": "status"}[kind]
                yield sse(name, html_of(kind, payload))
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/runs/{run_id}/lines", response_class=HTMLResponse)
    @guarded
    async def run_lines(request: Request, user, run_id: str, page_number: int = 1):
        """One page of the stored output (``LINES_PER_PAGE`` lines), escaped."""
        run = console.run(run_id)
        path = console.output(run)
        lines, more = [], False
        if path:
            first = (max(page_number, 1) - 1) * LINES_PER_PAGE
            with open(path, "rb") as handle:
                for number, raw in enumerate(handle):
                    if number >= first + LINES_PER_PAGE:
                        more = True
                        break
                    if number >= first:
                        lines.append(shown_line(raw))
        return page(request, "lines.html", run=run, lines=lines, page_number=max(page_number, 1), more=more)

    @app.get("/locks", response_class=HTMLResponse)
    @guarded
    async def locks(request: Request, user):
        return page(request, "locks.html", locks=console.locks(user))

    @app.get("/history", response_class=HTMLResponse)
    @guarded
    async def history(request: Request, user):
        wanted = {key: request.query_params.get(key, "") for key in ("host", "system", "environment", "outcome", "who")}
        return page(request, "history.html", runs=console.store.runs(**wanted), wanted=wanted)

def _local(path: str) -> str:
    """``path`` when it is a page of this console, else ``/`` (never a redirect to another site)::

        _local("/runs/3f2a"), _local("//evil.example"), _local("/\\evil.example")   # '/runs/3f2a', '/', '/'
    """
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) and "\n" not in path else "/"


def _set_session(response, request: Request, token: str):
    response.set_cookie(COOKIE, token, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def _job(system: str, action: str):
    try:
        return job_of(system, action)
    except KeyError:
        raise Refused(404, f"no job {system} {action}") from None

