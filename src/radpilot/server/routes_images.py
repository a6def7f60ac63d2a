"""Images: analyse uploaded radiographs, compare a current study with a prior.

Uploads are bounded twice: the whole request by ``Settings.max_upload_bytes`` (refused
with 413 as it streams in, ``middleware.BodyLimit``) and the count of files. Each upload is
written under a fresh temporary folder under a name radpilot makes (``001.dcm``): the
client's file name is never a path on the server, and is only echoed back as a label.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile, status

from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context

router = APIRouter(tags=["images"])

_SUFFIXES = {".dcm", ".dicom", ".png", ".jpg", ".jpeg"}
_CHUNK = 1024 * 1024


def _label(name: str | None, i: int) -> str:
    """A display name for an upload: its base name, printable characters only."""
    base = re.split(r"[\\/]", name or "")[-1]
    return re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:100] or f"upload-{i}"


async def _save(files: list[UploadFile], folder: Path, limit: int) -> dict[str, str]:
    """Write each upload under ``folder``; tmp path -> display name."""
    names: dict[str, str] = {}
    total = 0
    for i, up in enumerate(files, 1):
        suffix = Path(_label(up.filename, i)).suffix.lower()
        target = folder / f"{i:03d}{suffix if suffix in _SUFFIXES else '.dcm'}"
        with target.open("wb") as fh:
            while chunk := await up.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise HTTPException(
                        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                        f"uploads over {limit:,} bytes are refused",
                    )
                fh.write(chunk)
        names[str(target)] = _label(up.filename, i)
    return names


def _relabel(obj: Any, names: dict[str, str], folder: Path) -> Any:
    """The result with every temporary path replaced by the upload's display name."""
    text = json.dumps(obj)
    for tmp, shown in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(json.dumps(tmp)[1:-1], json.dumps(shown)[1:-1])
    return json.loads(text.replace(json.dumps(str(folder))[1:-1], "upload"))


def _check_count(ctx: ServiceContext, files: list[UploadFile]) -> None:
    if len(files) > ctx.settings.max_upload_files:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"at most {ctx.settings.max_upload_files} files a request",
        )


@router.post(
    "/api/analyze",
    summary="Analyse uploaded chest radiographs (AI assist, not a diagnosis)",
    **guard("images.analyze"),
)
async def analyze(
    request: Request,
    files: list[UploadFile] = File(..., description="DICOM, PNG or JPEG files."),
    who: Principal = Depends(require("images.analyze")),
    ctx: ServiceContext = Depends(context),
) -> list[dict[str, Any]]:
    from starlette.concurrency import run_in_threadpool

    from radpilot.imaging.analyze import analyze as run_analysis

    _check_count(ctx, files)
    with tempfile.TemporaryDirectory(prefix="radpilot-upload-") as tmp:
        folder = Path(tmp)
        names = await _save(files, folder, ctx.settings.max_upload_bytes)
        results = await run_in_threadpool(
            run_analysis, list(map(Path, names)), model=ctx.settings.image_model
        )
        out = _relabel([r.to_dict() for r in results], names, folder)
    uids = [r.meta.study_uid for r in results if r.meta is not None and r.meta.study_uid]
    await run_in_threadpool(ctx.audit, request, who, "images.analyze", uids or list(names.values()))
    return list(out)


@router.post(
    "/api/compare", summary="Compare a current radiograph with a prior", **guard("images.analyze")
)
async def compare(
    request: Request,
    current: UploadFile = File(...),
    prior: UploadFile = File(...),
    who: Principal = Depends(require("images.analyze")),
    ctx: ServiceContext = Depends(context),
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    from radpilot.imaging.compare import compare as run_compare

    with tempfile.TemporaryDirectory(prefix="radpilot-upload-") as tmp:
        folder = Path(tmp)
        names = await _save([current, prior], folder, ctx.settings.max_upload_bytes)
        paths = list(names)
        result = await run_in_threadpool(
            run_compare, paths[0], paths[1], model=ctx.settings.image_model
        )
        out = _relabel(result.to_dict(), names, folder)
    uids = [m.study_uid for m in (result.current, result.prior) if m.study_uid]
    await run_in_threadpool(ctx.audit, request, who, "images.compare", uids or list(names.values()))
    return dict(out)
