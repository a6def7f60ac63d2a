"""Health, the OAuth2 password flow (``POST /api/token``), token revocation, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from pydantic import BaseModel

from radpilot.server.accounts import MAX_PASSWORD, Principal, UserRecord, authenticate
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, client_address, context

router = APIRouter()


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.get("/api/health", tags=["service"], summary="Liveness (no credentials needed)")
def health() -> dict[str, str]:
    return {"status": "ok"}


def login_attempt(
    ctx: ServiceContext, request: Request, username: str, password: str
) -> UserRecord:
    """Check a login: 429 when the user or address has tried too often, 401 for a wrong
    name or password (the same answer for both); audited either way."""
    wait = ctx.limiter.attempt(username, client_address(request))
    if wait is not None:
        ctx.audit(request, None, "login", outcome="rate-limited", actor=username[:64])
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many login attempts; try again later",
            headers={"Retry-After": str(int(wait))},
        )
    user = authenticate(ctx.store, username, password)
    if user is None:
        ctx.limiter.failed(username)
        ctx.audit(request, None, "login", outcome="refused", actor=username[:64])
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong user name or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ctx.limiter.succeeded(username)
    return user


@router.post(
    "/api/token",
    tags=["service"],
    summary="OAuth2 password flow: form username + password -> a bearer token",
    responses={
        401: {"description": "Wrong user name or password"},
        429: {"description": "Rate-limited"},
    },
)
def token(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=MAX_PASSWORD),
    ctx: ServiceContext = Depends(context),
) -> TokenOut:
    user = login_attempt(ctx, request, username, password)
    issued = ctx.tokens.issue(user, "api")
    ctx.audit(request, None, "token.issue", actor=user.name, role=user.role.value)
    return TokenOut(access_token=issued, expires_in=int(ctx.settings.token_ttl_seconds))


@router.post(
    "/api/token/revoke",
    tags=["service"],
    summary="Revoke the token this request carries",
    **guard("self"),
)
def revoke(
    request: Request,
    who: Principal = Depends(require("self")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, bool]:
    done = ctx.tokens.revoke(who.jti)
    ctx.audit(request, who, "token.revoke")
    return {"revoked": done}


@router.get("/api/me", tags=["service"], summary="The caller's name and role", **guard("self"))
def me(who: Principal = Depends(require("self"))) -> dict[str, Any]:
    return {"name": who.name, "role": who.role.value, "via": who.kind}
