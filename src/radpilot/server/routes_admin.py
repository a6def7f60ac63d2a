"""Evaluation reports (HTML under a configured folder), users and the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from radpilot.errors import InputError
from radpilot.server.access import Role
from radpilot.server.accounts import MAX_PASSWORD, Principal, add_user, disable_user
from radpilot.server.audit import verify
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter()

SERVED_SUFFIXES = {".html", ".png", ".svg", ".json", ".css", ".csv"}


def _reports_root(ctx: ServiceContext) -> Path:
    root = ctx.settings.reports_dir
    if root is None or not root.is_dir():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no evaluation reports are configured")
    return root.resolve()


def safe_path(root: Path, relative: str) -> Path | None:
    """``root/relative`` when it names a served file inside ``root`` (after resolving
    symbolic links), else None: no absolute paths, no '..', no hidden files."""
    parts = relative.replace("\\", "/").split("/")
    if (
        not relative
        or relative.startswith("/")
        or any(p in ("", ".", "..") or p.startswith(".") or "\x00" in p or ":" in p for p in parts)
    ):
        return None
    try:
        target = (root / Path(*parts)).resolve()
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target if target.suffix.lower() in SERVED_SUFFIXES else None


@router.get(
    "/api/evaluations",
    tags=["evaluations"],
    summary="The HTML evaluation reports served",
    **guard("evaluations.read"),
)
def evaluations(
    who: Principal = Depends(require("evaluations.read")), ctx: ServiceContext = Depends(context)
) -> list[dict[str, Any]]:
    root = _reports_root(ctx)
    found = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if safe_path(root, rel) is not None:
            found.append(
                {"path": rel, "bytes": path.stat().st_size, "url": f"/api/evaluations/{rel}"}
            )
    return found


@router.get(
    "/api/evaluations/{path:path}",
    tags=["evaluations"],
    summary="One file of an evaluation report",
    **guard("evaluations.read"),
)
def evaluation_file(
    path: str,
    who: Principal = Depends(require("evaluations.read")),
    ctx: ServiceContext = Depends(context),
) -> FileResponse:
    target = safe_path(_reports_root(ctx), path)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evaluation report file")
    return FileResponse(target, headers={"Content-Security-Policy": "sandbox allow-scripts"})


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=64)
    role: Role
    password: str = Field(..., min_length=8, max_length=MAX_PASSWORD)


@router.get("/api/users", tags=["users"], summary="Every user", **guard("users.manage"))
def users(
    request: Request,
    who: Principal = Depends(require("users.manage")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    return [
        {"name": u.name, "role": u.role.value, "disabled": u.disabled, "created": u.created}
        for u in ctx.store.users()
    ]


@router.post(
    "/api/users", tags=["users"], summary="Add a user", status_code=201, **guard("users.manage")
)
def users_add(
    body: UserIn,
    request: Request,
    who: Principal = Depends(require("users.manage")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, str]:
    try:
        add_user(ctx.store, body.name, body.role, body.password)
    except InputError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    ctx.audit(request, who, "users.add", body.name, detail=f"role {body.role.value}")
    return {"name": body.name, "role": body.role.value}


@router.post(
    "/api/users/{name}/disable",
    tags=["users"],
    summary="Disable a user and revoke their tokens",
    **guard("users.manage"),
)
def users_disable(
    name: str,
    request: Request,
    who: Principal = Depends(require("users.manage")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    try:
        revoked = disable_user(ctx.store, name)
    except InputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    ctx.audit(request, who, "users.disable", name)
    return {"name": name, "disabled": True, "tokens_revoked": revoked}


@router.get("/api/audit", tags=["audit"], summary="Audit entries", **guard("audit.read"))
def audit_list(
    after: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(require("audit.read")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, object]]:
    return [e.to_dict() for e in ctx.store.audit_entries(after=after, limit=limit)]


@router.get(
    "/api/audit/verify", tags=["audit"], summary="Check the audit hash chain", **guard("audit.read")
)
def audit_verify(
    who: Principal = Depends(require("audit.read")), ctx: ServiceContext = Depends(context)
) -> dict[str, Any]:
    v = verify(ctx.store)
    return {
        "ok": v.ok,
        "entries": v.entries,
        "head": v.head,
        "first_bad": v.first_bad,
        "problem": v.problem,
    }
