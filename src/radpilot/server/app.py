"""The FastAPI application: ``create_app(settings)`` (``radpilot serve`` runs it under
uvicorn; tests call it directly).

Routers: ``routes_auth`` (health, token), ``routes_reports`` (label, archive, search),
``routes_images`` (analyze, compare), ``routes_studies``, ``routes_admin`` (evaluation
reports, users, audit), ``routes_web`` (login, sessions, pages), and every router
registered in ``radpilot.registry.server_routers``: the extension point for the workflow
routes (draft, QA, follow-ups, worklist), each ``"module:attribute"`` naming an
``APIRouter`` whose routes use ``auth.require(PERMISSION)`` and ``auth.guard(PERMISSION)``
with a permission of ``data/access.json``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from radpilot import __version__, registry
from radpilot.errors import InputError, RadpilotError
from radpilot.server.access import policy
from radpilot.server.accounts import Tokens
from radpilot.server.context import ServiceContext
from radpilot.server.middleware import BodyLimit, InternalErrors, SecurityHeaders
from radpilot.server.privacy import Pseudonymiser
from radpilot.server.ratelimit import LoginLimiter
from radpilot.server.settings import Settings
from radpilot.server.store import backend_for, open_service_store

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("/api/analyze", "/api/compare")
DESCRIPTION = (
    "radpilot's department service: report labelling, the report archive and search, image "
    "analysis and comparison, studies, evaluation reports. Get a bearer token with the "
    "OAuth2 password flow at `POST /api/token`; each route names the roles it admits "
    "(`x-roles`). radpilot assists; it does not diagnose."
)


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("radpilot.server").joinpath(name)))


def create_app(settings: Settings) -> FastAPI:
    """The app over the database ``settings.db`` (its service tables made if absent)."""
    backend, target = backend_for(settings.db)
    if backend == "sqlite":  # routes open the archive and studies by path
        settings = replace(settings, db=target)
        _prepare_studies(target)
    store = open_service_store(settings.db)
    secret = settings.secret or store.secret()
    access = policy()
    ctx = ServiceContext(
        settings=settings,
        store=store,
        tokens=Tokens(store, secret, settings.token_ttl_seconds),
        limiter=LoginLimiter(access.limits),
        policy=access,
        pseudonyms=Pseudonymiser(secret),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for stop in app.state.shutdown:  # what runs beside the app (the DICOM SCP)
            stop()
        store.close()

    app = FastAPI(title="radpilot", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.shutdown = []  # callables run when the server stops, before the store closes
    app.state.templates = Jinja2Templates(directory=str(_package_dir("templates")))
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    _include_routers(app)
    _add_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        uploads=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(InternalErrors)
    app.add_middleware(SecurityHeaders)
    return app


def _prepare_studies(path: str) -> None:
    """The archive and its studies table, made once here so that each request can open
    them read-only."""
    from radpilot.workflow.studies import open_studies

    open_studies(path).close()


def _include_routers(app: FastAPI) -> None:
    from radpilot.server import (
        routes_admin,
        routes_auth,
        routes_images,
        routes_reports,
        routes_studies,
        routes_web,
    )

    for module in (
        routes_auth,
        routes_reports,
        routes_images,
        routes_studies,
        routes_admin,
        routes_web,
    ):
        app.include_router(module.router)
    for name in registry.server_routers.names():
        app.include_router(registry.server_routers.get(name))


def _add_error_handlers(app: FastAPI) -> None:
    async def user_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    async def service_error(_request: Request, exc: Exception) -> JSONResponse:
        # One line naming the kind of problem (messages name files and fields, never text).
        log.warning("request failed: %s", type(exc).__name__)
        return JSONResponse({"detail": str(exc)}, status_code=503)

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own answer echoes each bad value ("input"): a report text, an id.
        errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
        detail = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
        return JSONResponse({"detail": detail}, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        # A browser that opens a page without a session is sent to the login form; an API
        # client (or anything not asking for HTML) gets the plain 401.
        code = getattr(exc, "status_code", 500)
        wants_html = "text/html" in request.headers.get("accept", "")
        if (
            code == 401
            and request.method == "GET"
            and wants_html
            and not request.url.path.startswith("/api")
        ):
            return RedirectResponse("/login", status_code=303)
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(InputError, user_error)
    app.add_exception_handler(RadpilotError, service_error)
