"""The radiologist's pages (server-rendered, ``templates/``; a little JavaScript in
``static/pages.js``): the worklist in reading order, a study (image with window/level,
zoom, heatmap and boxes; findings; the draft, live QA and Sign), search with facets, and
the evaluation reports. The image, heatmap, QA and sign routes are ``routes_pages_api``.

Role-aware: a de-identified role (a researcher) sees pseudonymised study and patient ids,
no description, findings but no image (pixels can carry burned-in identifiers) and no
report text; it cannot sign. Every page that shows patient data is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from radpilot.errors import InputError
from radpilot.server import pageviews
from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context
from radpilot.server.routes_web import render
from radpilot.workflow.studies import Study

router = APIRouter(tags=["pages"])


def all_studies(ctx: ServiceContext) -> list[Study]:
    from radpilot.workflow.studies import StudyFilter, open_studies

    store = open_studies(ctx.settings.db, readonly=True)
    try:
        return store.list(StudyFilter(limit=5000))
    finally:
        store.close()


def study_key(ctx: ServiceContext, who: Principal, uid: str) -> str:
    """How a page names a study: its uid, or its pseudonym for a de-identified role."""
    return ctx.pseudonyms.pseudonym("st", uid) if ctx.deidentified(who) else uid


def find_study(ctx: ServiceContext, who: Principal, key: str) -> Study:
    """The study a page's key names (404 when none: the same answer whether it exists
    under another name or not)."""
    for s in all_studies(ctx):
        if study_key(ctx, who, s.study_uid) == key:
            return s
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such study")


def _worklist(ctx: ServiceContext, who: Principal) -> list[dict[str, Any]]:
    from radpilot.workflow.worklist import worklist

    now = datetime.now(UTC)
    rows = pageviews.worklist_rows(worklist(all_studies(ctx), now), now)
    hidden = ctx.deidentified(who)
    for r in rows:
        r["key"] = study_key(ctx, who, r["study_uid"])
        if hidden:
            pid = r["patient_id"]
            r["patient_id"] = ctx.pseudonyms.pseudonym("pt", pid) if pid else None
            r["accession"] = None
            r["exam"] = r["modality"] or "-"
    return rows


@router.get(
    "/worklist", response_class=HTMLResponse, summary="Worklist page", **guard("studies.read")
)
def worklist_page(
    request: Request,
    refresh: int = Query(30, ge=1, le=3600, description="Seconds between refreshes."),
    who: Principal = Depends(require("studies.read")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    rows = _worklist(ctx, who)
    ctx.audit(request, who, "page.worklist", [r["study_uid"] for r in rows])
    return render(
        request, "worklist.html", who, rows=rows, hidden=ctx.deidentified(who), refresh=refresh
    )


@router.get(
    "/studies/{key}", response_class=HTMLResponse, summary="Study page", **guard("studies.read")
)
def study_page(
    key: str,
    request: Request,
    who: Principal = Depends(require("studies.read")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    study = find_study(ctx, who, key)
    hidden = ctx.deidentified(who)
    order = [r["key"] for r in _worklist(ctx, who)]
    at = order.index(key) if key in order else -1
    prev_key = order[at - 1] if at > 0 else None
    next_key = (
        order[at + 1] if 0 <= at < len(order) - 1 else (order[0] if at < 0 and order else None)
    )
    draft, signed_text = "", None
    notes: list[str] = []
    if not hidden:
        if study.report_id:
            signed_text = _archived_text(ctx, study.report_id)
        elif study.analysis:
            draft, notes = _draft(study)
    ctx.audit(request, who, "page.study", study.study_uid)
    pid = study.patient_id
    return render(
        request,
        "study.html",
        who,
        key=key,
        study=study,
        hidden=hidden,
        patient=(ctx.pseudonyms.pseudonym("pt", pid) if hidden and pid else pid),
        images=pageviews.image_view(study.analysis),
        presets=pageviews.WINDOW_PRESETS,
        draft=draft,
        notes=notes,
        signed_text=signed_text,
        prev_key=prev_key,
        next_key=next_key,
    )


def _draft(study: Study) -> tuple[str, list[str]]:
    """The verified template draft from the study's image findings."""
    import json
    import tempfile
    from pathlib import Path

    from radpilot.workflow.draft import draft_report

    with tempfile.TemporaryDirectory(prefix="radpilot-draft-") as tmp:
        path = Path(tmp) / "analysis.json"
        path.write_text(json.dumps([dict(a) for a in study.analysis or ()]), encoding="utf-8")
        try:
            d = draft_report(analysis=path, exam=study.description)
        except InputError as exc:
            return "", [str(exc).replace(str(path), "the study's analysis")]
    return d.report, [n.replace(str(path), "the study's analysis") for n in d.notes]


def _archived_text(ctx: ServiceContext, report_id: str) -> str | None:
    from radpilot.search.store import open_store

    store = open_store(ctx.settings.db, readonly=True)
    try:
        report = store.get(report_id)
    finally:
        store.close()
    return None if report is None else report.text


@router.get("/search", response_class=HTMLResponse, summary="Search page", **guard("search"))
def search_page(
    request: Request,
    q: str = Query("", max_length=2000),
    finding: str = Query("", max_length=64),
    certainty: str = Query("any", max_length=16),
    laterality: str = Query("", max_length=16),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    modality: str = Query("", max_length=16),
    who: Principal = Depends(require("search")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    values = dict(
        text=q,
        finding=finding,
        certainty=certainty,
        laterality=laterality,
        since=since,
        until=until,
        modality=modality,
    )
    error, hits, query = None, [], ""
    hidden = ctx.deidentified(who)
    try:
        query = pageviews.Facets(**values).query()
        if query:
            hits = _search(request, ctx, who, query)
    except InputError as exc:
        error = str(exc)
    return render(
        request,
        "search.html",
        who,
        values=values,
        query=query,
        hits=hits,
        error=error,
        hidden=hidden,
        certainties=pageviews.CERTAINTIES,
        sides=pageviews.SIDES,
    )


def _search(
    request: Request, ctx: ServiceContext, who: Principal, query: str
) -> list[dict[str, Any]]:
    from radpilot.search.engine import hits_to_json
    from radpilot.search.engine import search as run_search
    from radpilot.search.query import parse_query
    from radpilot.search.store import open_store

    hidden = ctx.deidentified(who)
    if hidden and parse_query(query).patient:
        raise InputError("a de-identified role may not search by patient id")
    store = open_store(ctx.settings.db, readonly=True)
    try:
        res = run_search(store, query, limit=50, semantic=ctx.settings.semantic_search)
    finally:
        store.close()
    hits = hits_to_json(res)
    ctx.audit(request, who, "page.search", [h["id"] for h in hits])
    for h in hits:
        h["evidence"] = pageviews.hit_evidence(h, hidden)
    if hidden:
        hits = list(ctx.pseudonyms.view(hits))
    return hits


@router.get(
    "/evaluations",
    response_class=HTMLResponse,
    summary="Evaluation reports page",
    **guard("evaluations.read"),
)
def evaluations_page(
    request: Request,
    who: Principal = Depends(require("evaluations.read")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    from radpilot.server.routes_admin import safe_path

    root = ctx.settings.reports_dir
    found = []
    if root is not None and root.is_dir():
        for path in sorted(root.rglob("*.html")):
            rel = path.relative_to(root).as_posix()
            if safe_path(root, rel) is not None:
                found.append({"path": rel, "kb": max(1, path.stat().st_size // 1024)})
    return render(request, "evaluations.html", who, reports=found, configured=root is not None)


@router.get("/help", response_class=HTMLResponse, summary="Keyboard shortcuts", **guard("self"))
def help_page(request: Request, who: Principal = Depends(require("self"))) -> Response:
    return render(request, "help.html", who)
