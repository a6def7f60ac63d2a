"""Who is asking, and may they: FastAPI dependencies for every guarded route.

Credentials are a bearer token (``Authorization: Bearer ...``, from ``POST /api/token``)
or the web session cookie (from ``POST /login``). A session-authenticated request that
changes state (any method but GET/HEAD/OPTIONS) must also carry the session's CSRF token,
in the ``X-CSRF-Token`` header or a ``csrf_token`` form field: the cookie rides along on
every cross-site request, the token does not. A bearer token is never sent by a browser on
its own, so it needs none. No credentials, or bad ones: 401; a role without the route's
permission (``data/access.json``): 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import cache
from typing import Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from radpilot.server.accounts import Principal
from radpilot.server.context import ServiceContext, context

SESSION_COOKIE = "radpilot_session"
LOGIN_CSRF_COOKIE = "radpilot_login_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(ctx: ServiceContext, session_jti: str) -> str:
    """The CSRF token of a session: an HMAC of its id, so nothing more is stored."""
    key = ctx.store.secret()
    return hmac.new(key, f"csrf:{session_jti}".encode(), hashlib.sha256).hexdigest()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


async def _csrf_ok(request: Request, expected: str) -> bool:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
    return given is not None and hmac.compare_digest(given, expected)


# Declares the OAuth2 password flow in the OpenAPI description (Swagger's "Authorize");
# the header itself is read below, so that a wrong scheme is a 401 of its own.
OAUTH2 = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


async def principal(
    request: Request,
    ctx: ServiceContext = Depends(context),
    _documented: str | None = Depends(OAUTH2),
) -> Principal:
    """The authenticated caller, or 401 (403 for a session request without its CSRF token)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer TOKEN' (from POST /api/token)")
        who = ctx.tokens.check(token.strip(), "api")
        if who is None:
            raise _unauthorized("the token is invalid, expired or revoked")
        return who
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise _unauthorized("credentials needed: a bearer token or a login session")
    who = ctx.tokens.check(cookie, "session")
    if who is None:
        raise _unauthorized("the session has ended; log in again")
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, csrf_token(ctx, who.jti)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return who


@cache
def require(permission: str) -> Callable[..., Any]:
    """A dependency: the caller, when their role holds ``permission``; else 403. One
    object per permission, so FastAPI resolves it once per request."""

    async def dependency(
        request: Request,
        who: Principal = Depends(principal),
        ctx: ServiceContext = Depends(context),
    ) -> Principal:
        if not ctx.policy.allowed(who.role, permission):
            # A refused attempt is part of the trail too (who tried what, from where).
            await run_in_threadpool(
                ctx.audit, request, who, permission, request.url.path, outcome="denied"
            )
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {who.role.value!r} may not do this ({permission!r})",
            )
        return who

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return dependency


def guard(permission: str) -> dict[str, Any]:
    """Route keywords documenting the permission and its roles in the OpenAPI description
    (``x-permission``, ``x-roles``) and the 401/403 answers."""
    from radpilot.server.access import policy

    roles = sorted(r.value for r in policy().permission(permission))
    return {
        "openapi_extra": {"x-permission": permission, "x-roles": roles},
        "responses": {
            401: {"description": "No credentials, or invalid ones"},
            403: {"description": f"A role other than {', '.join(roles)}"},
        },
    }
