"""What the study page fetches: the image as a PNG at a window and level, the heatmap
of one finding as a transparent PNG of the same size, live QA of the text being typed,
and Sign (the report into the archive, the study signed on the worklist, audited).

The image is the file the study's analysis names, read again by ``radpilot.imaging``
(the page names only the study and the image's index, never a path). Heatmaps are the
image model's (``ImageModel.heatmap``: Grad-CAM for the torch models), computed on the
first request and kept in a small cache.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from radpilot.errors import InputError
from radpilot.server import pageviews
from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context
from radpilot.server.routes_pages import find_study
from radpilot.workflow.studies import Study

router = APIRouter(tags=["pages"])

MAX_TEXT = 100_000
_PNG = {"Cache-Control": "private, max-age=300"}


class QARequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., max_length=MAX_TEXT)
    study: str | None = Field(None, max_length=200, description="The study page's key.")


class SignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, max_length=MAX_TEXT)


def _image_path(study: Study, index: int) -> Path:
    images = study.analysis or ()
    if not 0 <= index < len(images):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such image in this study")
    path = Path(str(images[index].get("path") or ""))
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the image file is no longer stored")
    return path


@lru_cache(maxsize=8)
def _pixels(path: str, mtime: float) -> np.ndarray:
    from radpilot.imaging.dicomio import read_image

    pixels: np.ndarray = read_image(path).pixels
    return pixels


@lru_cache(maxsize=2)
def _model(name: str | None) -> Any:
    from radpilot.imaging.analyze import resolve_model

    return resolve_model(name)


@lru_cache(maxsize=16)
def _heat_png(model: str | None, path: str, mtime: float, label: str) -> bytes:
    from radpilot.imaging.dicomio import read_image

    net = _model(model)
    if label not in net.labels:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the model has no such finding")
    heat = np.asarray(net.heatmap(read_image(path), label), dtype=np.float32)
    return pageviews.png_bytes(pageviews.heat_rgba(heat))


@router.get(
    "/studies/{key}/images/{index}.png",
    summary="One image of a study at a window and level",
    **guard("archive.read"),
)
async def image_png(
    key: str,
    index: int,
    request: Request,
    level: float = Query(50.0, ge=0.0, le=100.0, description="Percent of the display range."),
    width: float = Query(100.0, ge=1.0, le=200.0, description="Percent of the display range."),
    who: Principal = Depends(require("archive.read")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    study = await run_in_threadpool(find_study, ctx, who, key)
    path = _image_path(study, index)
    pixels = await run_in_threadpool(_pixels, str(path), path.stat().st_mtime)
    body = await run_in_threadpool(
        lambda: pageviews.png_bytes(pageviews.windowed(pixels, level, width))
    )
    await run_in_threadpool(ctx.audit, request, who, "image.view", study.study_uid)
    return Response(body, media_type="image/png", headers=_PNG)


@router.get(
    "/studies/{key}/images/{index}/heatmap.png",
    summary="The image model's heatmap of one finding (transparent PNG)",
    **guard("archive.read"),
)
async def heatmap_png(
    key: str,
    index: int,
    request: Request,
    finding: str = Query(..., min_length=1, max_length=64),
    who: Principal = Depends(require("archive.read")),
    ctx: ServiceContext = Depends(context),
) -> Response:
    study = await run_in_threadpool(find_study, ctx, who, key)
    path = _image_path(study, index)
    body = await run_in_threadpool(
        _heat_png, ctx.settings.image_model, str(path), path.stat().st_mtime, finding
    )
    await run_in_threadpool(ctx.audit, request, who, "image.heatmap", study.study_uid)
    return Response(body, media_type="image/png", headers=_PNG)


@router.post("/pages/qa", summary="QA of a report being written", **guard("archive.write"))
def qa(
    body: QARequest,
    request: Request,
    who: Principal = Depends(require("archive.write")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.workflow.qa import check
    from radpilot.workflow.qaimage import image_findings_from

    image: tuple[Any, ...] = ()
    exam = None
    if body.study:
        study = find_study(ctx, who, body.study)
        exam = study.description
        if study.analysis:
            image = image_findings_from([dict(a) for a in study.analysis], "the study's analysis")
    problems = check(body.text, image=image, exam=exam)
    return {"problems": [p.to_dict() for p in problems]}


@router.post("/studies/{key}/sign", summary="Sign a study's report", **guard("archive.write"))
def sign(
    key: str,
    body: SignRequest,
    request: Request,
    who: Principal = Depends(require("archive.write")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from radpilot.interop.records import FieldError, make_record
    from radpilot.search.ingest import ingest_records
    from radpilot.search.store import open_store
    from radpilot.workflow.studies import StudyStatus, open_studies

    study = find_study(ctx, who, key)
    if study.status is StudyStatus.SIGNED:
        raise HTTPException(status.HTTP_409_CONFLICT, "this study is signed already")
    rid = study.accession or study.study_uid
    try:
        record = make_record(
            rid=rid,
            text=body.text,
            patient_id=study.patient_id,
            study_date=_iso_date(study.study_date),
            modality=study.modality,
            body_part=study.body_part,
            source="sign",
        )
    except FieldError as exc:
        raise InputError(f"sign: {exc}") from None
    problems: list[str] = []
    store = open_store(ctx.settings.db)
    try:
        summary = ingest_records(
            store, [record], jobs=1, on_problem=lambda p: problems.append(str(p))
        )
    finally:
        store.close()
    if summary.errors:
        ctx.audit(request, who, "report.sign", study.study_uid, outcome="failed")
        raise InputError("sign: the archive refused the report; " + "; ".join(problems)[:300])
    studies = open_studies(ctx.settings.db)
    try:
        studies.set_status(study.study_uid, StudyStatus.SIGNED, report_id=rid)
    finally:
        studies.close()
    ctx.audit(request, who, "report.sign", study.study_uid, detail=f"report {rid}")
    return {"report_id": rid, "status": StudyStatus.SIGNED.value}


def _iso_date(value: str | None) -> str | None:
    """A DICOM date (YYYYMMDD) as the archive's ISO date."""
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or None
