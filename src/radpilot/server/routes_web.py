"""The server-rendered pages' plumbing: the login form (with a login CSRF token, double
submitted as a cookie and a form field), the session cookie (HttpOnly, SameSite=Strict,
Secure behind HTTPS), logout, and a home page. The radiologist's pages build on these:
``render(request, "page.html", who, ...)`` gives every template the user and the CSRF
token its forms must carry."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from radpilot.server.accounts import MAX_PASSWORD, Principal
from radpilot.server.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, csrf_token, guard, require
from radpilot.server.context import ServiceContext, context
from radpilot.server.routes_auth import login_attempt

router = APIRouter(tags=["web"])


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def render(
    request: Request, name: str, who: Principal | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    ctx = context(request)
    csrf = csrf_token(ctx, who.jti) if who is not None and who.kind == "session" else ""
    return templates(request).TemplateResponse(
        request, name, {"who": who, "csrf_token": csrf, **values}, status_code=status_code
    )


@router.get("/login", response_class=HTMLResponse, summary="The login form")
def login_form(request: Request, ctx: ServiceContext = Depends(context)) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", None, login_csrf=token, error=None)
    _cookie(page, ctx, LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login")
    return page


@router.post("/login", response_class=HTMLResponse, summary="Log in: a session cookie")
def login(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=MAX_PASSWORD),
    csrf_token_field: str = Form("", alias="csrf_token", max_length=100),
    ctx: ServiceContext = Depends(context),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token_field):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong; reload /login")
    try:
        user = login_attempt(ctx, request, username, password)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_401_UNAUTHORIZED:
            raise
        page = render(
            request,
            "login.html",
            None,
            status_code=401,
            login_csrf=expected,
            error="Wrong user name or password.",
        )
        return page
    session = ctx.tokens.issue(user, "session")
    ctx.audit(request, None, "session.start", actor=user.name, role=user.role.value)
    done = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    _cookie(done, ctx, SESSION_COOKIE, session, max_age=int(ctx.settings.session_ttl_seconds))
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@router.post("/logout", summary="End the web session", **guard("self"))
def logout(
    request: Request,
    who: Principal = Depends(require("self")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    ctx.tokens.revoke(who.jti)
    ctx.audit(request, who, "session.end")
    done = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done


@router.get("/", response_class=HTMLResponse, summary="Home page", **guard("self"))
def home(request: Request, who: Principal = Depends(require("self"))) -> Response:
    return render(request, "home.html", who)


def _cookie(
    response: Response, ctx: ServiceContext, name: str, value: str, *, max_age: int, path: str = "/"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.secure_cookies,
    )
