"""Reports: label texts, add reports to the archive, read one back, archive statistics,
and negation-aware search. Every read or write of patient data is audited; a
de-identified role gets pseudonymised ids and no text (``privacy``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter(tags=["reports"])

MAX_REPORTS = 1000
MAX_TEXT = 100_000  # the label command's own cap on one report


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelItem(_Strict):
    id: str | None = Field(None, max_length=200)
    text: str = Field(..., max_length=MAX_TEXT)


class LabelRequest(_Strict):
    reports: list[LabelItem] = Field(..., min_length=1, max_length=MAX_REPORTS)
    labels: Literal["chexpert", "chestxray14"] = "chexpert"


class ReportIn(_Strict):
    id: str = Field(..., min_length=1, max_length=200)
    text: str = Field(..., max_length=MAX_TEXT)
    patient_id: str | None = Field(None, max_length=200)
    study_date: str | None = Field(None, max_length=40)
    modality: str | None = Field(None, max_length=16)
    body_part: str | None = Field(None, max_length=64)


class ArchiveAddRequest(_Strict):
    reports: list[ReportIn] = Field(..., min_length=1, max_length=MAX_REPORTS)


@router.post("/api/label", summary="Read report texts into findings and labels", **guard("label"))
def label(
    body: LabelRequest,
    request: Request,
    who: Principal = Depends(require("label")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from radpilot.reports import read
    from radpilot.reports.labels import chestxray14, chexpert

    to_labels = chexpert if body.labels == "chexpert" else chestxray14
    out = []
    for i, item in enumerate(body.reports):
        report = read(item.text)
        out.append(
            {
                "row": i + 1,
                "id": item.id,
                "label_set": body.labels,
                "labels": to_labels(report),
                "mentions": [m.to_dict() for m in report.mentions],
            }
        )
    ctx.audit(request, who, "label", [r.id or f"row {i + 1}" for i, r in enumerate(body.reports)])
    return out


@router.post(
    "/api/archive/reports", summary="Add or update reports in the archive", **guard("archive.write")
)
def archive_add(
    body: ArchiveAddRequest,
    request: Request,
    who: Principal = Depends(require("archive.write")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.interop.records import FieldError, Item, RecordError, make_record
    from radpilot.search.ingest import ingest_records
    from radpilot.search.store import open_store

    items: list[Item] = []
    for i, r in enumerate(body.reports):
        try:
            items.append(
                make_record(
                    rid=r.id,
                    text=r.text,
                    patient_id=r.patient_id,
                    study_date=r.study_date,
                    modality=r.modality,
                    body_part=r.body_part,
                    source=f"request:reports[{i}]",
                )
            )
        except FieldError as exc:
            items.append(RecordError("request", f"reports[{i}]", str(exc)))
    problems: list[str] = []
    store = open_store(ctx.settings.db)
    try:
        summary = ingest_records(store, items, jobs=1, on_problem=lambda p: problems.append(str(p)))
    finally:
        store.close()
    ctx.audit(
        request,
        who,
        "archive.write",
        [r.id for r in body.reports],
        outcome="ok" if not summary.errors else "partly",
    )
    return {**summary.as_dict(), "problems": problems}


@router.get(
    "/api/archive/reports/{report_id}",
    summary="One archived report with its findings",
    **guard("archive.read"),
)
def archive_get(
    report_id: str,
    request: Request,
    who: Principal = Depends(require("archive.read")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.search.store import open_store

    store = open_store(ctx.settings.db, readonly=True)
    try:
        report = store.get(report_id)
        mentions = store.mentions([report.rowid]).get(report.rowid, []) if report else []
    finally:
        store.close()
    ctx.audit(request, who, "archive.read", report_id, outcome="ok" if report else "not-found")
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no report with this id")
    out = asdict(report)
    out.pop("rowid")
    out["mentions"] = [asdict(m) for m in mentions]
    return out


@router.get("/api/archive/stats", summary="Archive statistics", **guard("archive.stats"))
def archive_stats(
    who: Principal = Depends(require("archive.stats")), ctx: ServiceContext = Depends(context)
) -> dict[str, Any]:
    from radpilot.search.store import open_store

    store = open_store(ctx.settings.db, readonly=True)
    try:
        return asdict(store.stats())
    finally:
        store.close()


@router.get("/api/search", summary="Negation-aware search: hits with evidence", **guard("search"))
def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=2000, description="A `radpilot search` query."),
    limit: int = Query(20, ge=1, le=200),
    semantic: bool = Query(True, description="Use embeddings when the archive has them."),
    who: Principal = Depends(require("search")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.search.engine import hits_to_json
    from radpilot.search.engine import search as run_search
    from radpilot.search.query import parse_query
    from radpilot.search.store import open_store

    hidden = ctx.deidentified(who)
    if hidden and parse_query(q).patient:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "a de-identified role may not search by patient id"
        )
    store = open_store(ctx.settings.db, readonly=True)
    try:
        res = run_search(store, q, limit=limit, semantic=semantic and ctx.settings.semantic_search)
    finally:
        store.close()
    hits = hits_to_json(res)
    ctx.audit(
        request, who, "search", [h["id"] for h in hits], detail="de-identified" if hidden else ""
    )
    body = {
        "query": res.query.to_string(),
        "semantic": res.semantic,
        "notes": list(res.notes),
        "hits": hits,
    }
    return ctx.pseudonyms.view(body) if hidden else body
