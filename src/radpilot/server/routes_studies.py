"""``GET /api/studies``: the studies the server holds (the workflow studies store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter(tags=["studies"])


@router.get(
    "/api/studies",
    summary="Studies received: uid, patient, status, findings",
    **guard("studies.read"),
)
def studies(
    request: Request,
    who: Principal = Depends(require("studies.read")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    try:
        from radpilot.workflow import studies as studies_store  # type: ignore[attr-defined]
    except ImportError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the studies store is not in this build"
        ) from None
    rows: list[dict[str, Any]] = studies_store.list_for_service(ctx.settings.db)
    ctx.audit(request, who, "studies.read", [r["study_uid"] for r in rows])
    return ctx.pseudonyms.view(rows) if ctx.deidentified(who) else rows
