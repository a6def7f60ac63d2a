"""The radiologist's workflow over HTTP: a verified report draft, QA of a report,
follow-up recommendations (and the archive's overdue ones), the triaged worklist and a
patient's timeline. The same library calls as ``radpilot draft``, ``qa``, ``followups``,
``worklist`` and ``timeline``; reads of stored patient data are audited, and a report text
sent in is read, never kept. Drafts here are the template backend's: a language model is
configured per user on the command line (``radpilot draft --llm``), not by a request."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from radpilot.errors import InputError
from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter(tags=["workflow"])

MAX_TEXT = 100_000  # the label command's cap on one report
MAX_REPORTS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftRequest(_Strict):
    findings: list[str] = Field(
        default_factory=list,
        max_length=200,
        description='Phrases as typed ("small left pleural effusion", "no pneumothorax").',
    )
    analysis: list[dict[str, Any]] | None = Field(
        None, max_length=64, description="`radpilot analyze --json` image results"
    )
    prior: str | None = Field(None, max_length=MAX_TEXT, description="The prior report's text.")
    prior_id: str | None = Field(None, max_length=200, description="A prior report in the archive.")
    exam: str | None = Field(None, max_length=200, description='e.g. "CHEST 2 VIEWS"')


class QARequest(_Strict):
    text: str = Field(..., max_length=MAX_TEXT)
    exam: str | None = Field(None, max_length=200, description='e.g. "LEFT RIBS 2 VIEWS"')
    sex: Literal["F", "M"] | None = None
    image_findings: list[dict[str, Any]] | None = Field(
        None, max_length=64, description="`radpilot analyze --json` image results"
    )


class FollowupItem(_Strict):
    id: str | None = Field(None, max_length=200)
    text: str = Field(..., max_length=MAX_TEXT)


class FollowupsRequest(_Strict):
    reports: list[FollowupItem] = Field(..., min_length=1, max_length=MAX_REPORTS)
    guideline: bool = Field(False, description="Add the Fleischner 2017 check of nodules.")


def _bad_request(exc: InputError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


@router.post(
    "/api/draft", summary="A report draft, read back and verified", **guard("workflow.draft")
)
def draft(
    body: DraftRequest,
    request: Request,
    who: Principal = Depends(require("workflow.draft")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.workflow.draft import draft_report

    if body.prior is not None and body.prior_id is not None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "give prior or prior_id, not both")
    prior, label = body.prior, None
    if body.prior_id is not None:
        prior, label = _archived_report(ctx, body.prior_id)
    try:
        made = draft_report(
            [p for p in body.findings if p.strip()],
            analysis=body.analysis,
            prior=prior,
            prior_label=label,
            exam=body.exam,
        )
    except InputError as exc:
        raise _bad_request(exc) from None
    ctx.audit(request, who, "workflow.draft", [body.prior_id] if body.prior_id else [])
    return made.to_dict()


def _archived_report(ctx: ServiceContext, report_id: str) -> tuple[str, str | None]:
    """The text of an archived report and how COMPARISON names it (as the CLI does)."""
    from radpilot.search.store import open_store

    store = open_store(ctx.settings.db, readonly=True, create=False)
    try:
        found = store.get(report_id)
    finally:
        store.close()
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "prior_id: no such report in the archive")
    return found.text, (f"Prior report of {found.study_date}" if found.study_date else None)


@router.post(
    "/api/qa",
    summary="Check a report: laterality, impression, critical results",
    **guard("workflow.qa"),
)
def qa(
    body: QARequest,
    request: Request,
    who: Principal = Depends(require("workflow.qa")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from radpilot.workflow.qa import check
    from radpilot.workflow.qaimage import analysed_findings

    try:
        image = (
            analysed_findings(body.image_findings, "image_findings")
            if body.image_findings is not None
            else ()
        )
        problems = check(body.text, image=image, exam=body.exam, sex=body.sex)
    except InputError as exc:
        raise _bad_request(exc) from None
    ctx.audit(request, who, "workflow.qa", [], detail=f"{len(problems)} problem(s)")
    return [p.to_dict() for p in problems]


@router.post(
    "/api/followups",
    summary="Follow-up recommendations and communications",
    **guard("workflow.followups"),
)
def followups(
    body: FollowupsRequest,
    request: Request,
    who: Principal = Depends(require("workflow.followups")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from radpilot.reports import read
    from radpilot.workflow.fleischner import assess
    from radpilot.workflow.followups import extract_report

    out = []
    for i, item in enumerate(body.reports):
        report = read(item.text)
        found = extract_report(report)
        row = found.as_dict(item.id or f"row {i + 1}")
        if body.guideline:
            row["nodules"] = [a.as_dict() for a in assess(report, found)]
        out.append(row)
    ctx.audit(request, who, "workflow.followups", [r["id"] for r in out])
    return out


@router.get(
    "/api/followups/overdue", summary="The archive's overdue follow-ups", **guard("archive.read")
)
def overdue(
    request: Request,
    as_of: date | None = Query(None, description="Judge as at this date (default: today, UTC)."),
    all_: bool = Query(False, alias="all", description="Pending and done ones too."),
    who: Principal = Depends(require("archive.read")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.search.store import open_store
    from radpilot.workflow.tracking import Status, track

    today = as_of or datetime.now(UTC).date()
    store = open_store(ctx.settings.db, readonly=True, create=False)
    try:
        result = track(store.iter_reports(), as_of=today)
    finally:
        store.close()
    items = [t for t in result.items if all_ or t.status is Status.OVERDUE]
    ctx.audit(request, who, "followups.overdue", [t.report_id for t in items])
    return {
        "as_of": today.isoformat(),
        "reports": result.reports,
        "items": [t.as_dict(today) for t in items],
    }


@router.get(
    "/api/worklist",
    summary="Unread studies in reading order, with reasons",
    **guard("studies.read"),
)
def worklist(
    request: Request,
    who: Principal = Depends(require("studies.read")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from radpilot.workflow.studies import StudyFilter, open_studies
    from radpilot.workflow.worklist import worklist as ranked

    with open_studies(ctx.settings.db, readonly=True) as store:
        entries = ranked(store.list(StudyFilter(unread=True)), datetime.now(UTC))
    rows = [e.to_dict() for e in entries]
    ctx.audit(request, who, "worklist.read", [r["study_uid"] for r in rows])
    return ctx.pseudonyms.view(rows) if ctx.deidentified(who) else rows


@router.get(
    "/api/timeline/{patient}", summary="A patient's findings over time", **guard("archive.read")
)
def timeline(
    patient: str,
    request: Request,
    who: Principal = Depends(require("archive.read")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.search.store import open_store
    from radpilot.workflow.studies import open_studies
    from radpilot.workflow.timeline import build_timeline

    archive = open_store(ctx.settings.db, readonly=True, create=False)
    try:
        with open_studies(ctx.settings.db, readonly=True) as studies:
            result = build_timeline(patient[:200], archive, studies)
    except InputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    finally:
        archive.close()
    ctx.audit(request, who, "timeline.read", [patient[:200]])
    return result.to_dict()
