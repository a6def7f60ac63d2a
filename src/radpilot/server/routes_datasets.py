"""The annotation pages: one item at a time, keyboard first (``static/datasets.js``: a
accept, f flip certainty, r reject, j/k move between proposals, n save and next; a box is
redrawn by dragging on the image). The annotator is the logged-in user; they see only
radpilot's proposals and their own earlier answer (blinding). An adjudicator sees the
annotators' answers, which is what adjudicating means. The page's time on the item is
posted with the answer and stored.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from radpilot.datasets.active import DEFAULT_STRATEGY, next_item
from radpilot.datasets.codec import decisions_from_json
from radpilot.datasets.models import Annotation, Dataset, DatasetError, Item, Role
from radpilot.datasets.store import DatasetStore, open_datasets
from radpilot.errors import RegistryError
from radpilot.server.accounts import Principal
from radpilot.server.auth import guard, require
from radpilot.server.context import ServiceContext, context
from radpilot.server.routes_web import render

router = APIRouter(tags=["datasets"])
PERMISSION = "datasets.annotate"
MAX_DECISIONS = 10_000  # characters of the posted decisions


def _open(ctx: ServiceContext) -> DatasetStore:
    if "://" in ctx.settings.db:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, "datasets live in a SQLite archive")
    return open_datasets(ctx.settings.db)


def _mine(store: DatasetStore, name: str, who: Principal) -> tuple[Dataset, Role, list[int]]:
    try:
        ds = store.get(name)
    except DatasetError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such dataset") from None
    got = store.assignments(ds).get(who.name)
    if got is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "nothing in this dataset is assigned to you")
    return ds, got[0], got[1]


def highlighted(item: Item) -> Markup:
    """The report text, escaped, with each evidence span in a <mark> naming its label."""
    spans: dict[tuple[int, int], list[str]] = {}
    for i, p in enumerate(item.proposals):
        for e in p.evidence:
            spans.setdefault((e.start, e.end), []).append(str(i))
    out: list[str] = []
    pos = 0
    for (a, b), idx in sorted(spans.items()):
        if a < pos or b > len(item.text):
            continue  # overlapping spans: the first one is marked
        out.append(str(escape(item.text[pos:a])))
        out.append(f'<mark data-p="{" ".join(idx)}">{escape(item.text[a:b])}</mark>')
        pos = b
    out.append(str(escape(item.text[pos:])))
    return Markup("".join(out))


@router.get("/datasets/{name}/annotate", summary="The next item for you", **guard(PERMISSION))
def annotate(
    name: str,
    strategy: str = DEFAULT_STRATEGY,
    who: Principal = Depends(require(PERMISSION)),
    ctx: ServiceContext = Depends(context),
) -> Response:
    store = _open(ctx)
    try:
        ds, _role, ids = _mine(store, name, who)
        done = {a.item_id for a in store.annotations(ds, who.name)}
        mine = set(ids)
        items = [it for it in store.items(ds) if it.id in mine]
        try:
            nxt = next_item(items, done, name=strategy)
        except RegistryError as exc:  # an unknown strategy: the registry lists the names
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    finally:
        store.close()
    if nxt is None:
        return RedirectResponse(f"/datasets/{name}/done", status_code=status.HTTP_303_SEE_OTHER)
    target = f"/datasets/{name}/items/{nxt.id}?strategy={strategy}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/datasets/{name}/done", response_class=HTMLResponse, **guard(PERMISSION))
def done_page(
    request: Request,
    name: str,
    who: Principal = Depends(require(PERMISSION)),
    ctx: ServiceContext = Depends(context),
) -> Response:
    store = _open(ctx)
    try:
        ds, _role, ids = _mine(store, name, who)
        answered = len(store.annotations(ds, who.name))
    finally:
        store.close()
    return render(request, "dataset_done.html", who, dataset=ds, answered=answered, total=len(ids))


@router.get("/datasets/{name}/items/{item_id}", response_class=HTMLResponse, **guard(PERMISSION))
def item_page(
    request: Request,
    name: str,
    item_id: int,
    strategy: str = DEFAULT_STRATEGY,
    who: Principal = Depends(require(PERMISSION)),
    ctx: ServiceContext = Depends(context),
) -> Response:
    store = _open(ctx)
    try:
        ds, role, ids = _mine(store, name, who)
        if item_id not in ids:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this item is not assigned to you")
        item = store.item(ds, item_id)
        everyone = [a for a in store.annotations(ds) if a.item_id == item_id]
        answered = len(store.annotations(ds, who.name))
    finally:
        store.close()
    own = next((a for a in everyone if a.annotator == who.name), None)
    others = [a for a in everyone if a.annotator != who.name] if role is Role.ADJUDICATOR else []
    ctx.audit(request, who, "datasets.item.view", f"{ds.name}/{item.position}")
    return render(
        request,
        "dataset_item.html",
        who,
        dataset=ds,
        item=item,
        role=role.value,
        text=highlighted(item) if item.text else None,
        proposals=_proposal_rows(item, own),
        others=[{"annotator": a.annotator, "labels": a.labels(item)} for a in others],
        strategy=strategy,
        progress=f"{answered} of {len(ids)} answered",
    )


def _proposal_rows(item: Item, own: Annotation | None) -> list[dict[str, Any]]:
    mine = {d.proposal: d for d in own.decisions} if own else {}
    rows = []
    for i, p in enumerate(item.proposals):
        d = mine.get(i)
        rows.append(
            {
                "index": i,
                "label": p.label,
                "value": p.value,
                "source": p.source,
                "score": p.score,
                "box": p.box.to_dict() if p.box else None,
                "answer": None if d is None else d.action.value,
                "answer_value": None if d is None else d.value,
            }
        )
    return rows


@router.post("/datasets/{name}/items/{item_id}", summary="Save your answer", **guard(PERMISSION))
def save_answer(
    request: Request,
    name: str,
    item_id: int,
    decisions: str = Form(..., max_length=MAX_DECISIONS),
    seconds: float = Form(..., ge=0, le=86_400),
    strategy: str = Form(DEFAULT_STRATEGY, max_length=40),
    who: Principal = Depends(require(PERMISSION)),
    ctx: ServiceContext = Depends(context),
) -> Response:
    store = _open(ctx)
    try:
        ds, role, ids = _mine(store, name, who)
        if item_id not in ids:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this item is not assigned to you")
        item = store.item(ds, item_id)
        try:
            parsed = decisions_from_json(decisions, "decisions")
            _check_against(item, parsed)
        except DatasetError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
        store.save(ds, Annotation(item_id, who.name, role, parsed, seconds))
    finally:
        store.close()
    ctx.audit(request, who, "datasets.item.answer", f"{ds.name}/{item.position}")
    nxt = f"/datasets/{name}/annotate?strategy={strategy}"
    return RedirectResponse(nxt, status_code=status.HTTP_303_SEE_OTHER)


def _check_against(item: Item, decisions: Any) -> None:
    """A decision names one of the item's proposals by index and label (an added label
    is index -1); each proposal is decided at most once."""
    seen: set[int] = set()
    for i, d in enumerate(decisions):
        if d.proposal == -1:
            continue
        if not 0 <= d.proposal < len(item.proposals) or item.proposals[d.proposal].label != d.label:
            raise DatasetError(f"decisions[{i}]: no proposal {d.proposal} labelled {d.label!r}")
        if d.proposal in seen:
            raise DatasetError(f"decisions[{i}]: proposal {d.proposal} decided twice")
        seen.add(d.proposal)


@router.get("/datasets/{name}/items/{item_id}/image", **guard(PERMISSION))
def item_image(
    name: str,
    item_id: int,
    who: Principal = Depends(require(PERMISSION)),
    ctx: ServiceContext = Depends(context),
) -> Response:
    """The item's image as PNG (display pixels; DICOM windowed as the model reads it)."""
    import numpy as np
    from PIL import Image

    from radpilot.imaging.dicomio import read_image

    store = _open(ctx)
    try:
        ds, _role, ids = _mine(store, name, who)
        if item_id not in ids:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this item is not assigned to you")
        item = store.item(ds, item_id)
    finally:
        store.close()
    if not item.image:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this item has no image")
    img = read_image(item.image)
    pixels = np.clip(np.asarray(img.pixels) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "private"})
