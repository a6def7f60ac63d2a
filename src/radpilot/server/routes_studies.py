"""``GET /api/studies``: the studies the server holds (``radpilot.workflow.studies``),
each with its header, ``received``, ``status``, urgency and, once analysed, ``findings``
(per finding: the highest probability over the study's images and whether any image is
positive). A de-identified role gets pseudonymised uids and patient ids, no description,
and the year of each date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter(tags=["studies"])


def study_findings(analysis: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """One entry per finding over the study's analysed images, most probable first."""
    if analysis is None:
        return None
    best: dict[str, dict[str, Any]] = {}
    for image in analysis:
        for f in image.get("findings") or ():
            name, p = f.get("name"), f.get("probability")
            if not isinstance(name, str) or not isinstance(p, int | float):
                continue
            seen = best.setdefault(name, {"name": name, "probability": p, "positive": False})
            seen["probability"] = max(seen["probability"], p)
            seen["positive"] = seen["positive"] or bool(f.get("positive"))
    return sorted(best.values(), key=lambda f: (-f["probability"], f["name"]))


@router.get(
    "/api/studies",
    summary="Studies received: uid, patient, status, findings",
    **guard("studies.read"),
)
def studies(
    request: Request,
    status_: list[str] | None = Query(
        None, alias="status", description="received, analysed, read, signed"
    ),
    unread: bool = Query(False, description="Only studies not yet read."),
    limit: int = Query(500, ge=1, le=5000),
    who: Principal = Depends(require("studies.read")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from radpilot.workflow.studies import StudyFilter, open_studies, parse_status

    filters = StudyFilter(
        statuses=tuple(parse_status(s) for s in status_ or ()), unread=unread, limit=limit
    )
    store = open_studies(ctx.settings.db, readonly=True)
    try:
        found = store.list(filters)
    finally:
        store.close()
    rows = []
    for s in found:
        row = s.to_dict()
        analysis = row.pop("analysis")
        row.pop("updated")
        row["findings"] = study_findings(analysis)
        rows.append(row)
    ctx.audit(
        request,
        who,
        "studies.read",
        [r["study_uid"] for r in rows],
        detail="de-identified" if ctx.deidentified(who) else "",
    )
    return ctx.pseudonyms.view(rows) if ctx.deidentified(who) else rows
