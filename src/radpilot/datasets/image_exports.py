"""Image exports: COCO boxes, DICOM SEG masks (highdicom), and a Hugging Face
``datasets``-loadable image folder (``load_dataset("imagefolder", data_dir=OUT)``).

An item's final boxes are those of whoever settled its labels: the adjudicator, else the
first annotator who answered it, else radpilot's heatmap boxes; a box is kept for each
finding whose final value is present or uncertain.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from radpilot import __version__
from radpilot.datasets.bundle import Bundle
from radpilot.datasets.models import Box, Item, Role


def final_boxes(b: Bundle, it: Item) -> dict[str, Box]:
    mine = [a for a in b.annotations if a.item_id == it.id]
    judged = [a for a in mine if a.role is Role.ADJUDICATOR]
    chosen = judged[-1] if judged else (min(mine, key=lambda a: a.annotator) if mine else None)
    boxes = (
        chosen.boxes(it) if chosen is not None else {p.label: p.box for p in it.proposals if p.box}
    )
    labels = b.labels(it)
    return {k: v for k, v in boxes.items() if v is not None and labels.get(k) in (1.0, -1.0)}


def _size(it: Item) -> tuple[int, int]:
    """(width, height) of the source image, from what the reader recorded."""
    return int(it.meta.get("columns") or 0), int(it.meta.get("rows") or 0)


def write_coco(b: Bundle, out: Path) -> int:
    cats = {name: i + 1 for i, name in enumerate(b.dataset.labels)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for it in b.items:
        if not it.image:
            continue
        w, h = _size(it)
        images.append(
            {
                "id": it.position,
                "file_name": b.file_stem(it) + Path(it.image).suffix,
                "width": w,
                "height": h,
            }
        )
        for name, box in final_boxes(b, it).items():
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": it.position,
                    "category_id": cats[name],
                    "bbox": [box.x, box.y, box.width, box.height],
                    "area": box.width * box.height,
                    "iscrowd": 0,
                    "uncertain": b.labels(it)[name] == -1.0,
                }
            )
    doc = {
        "info": {
            "description": f"radpilot dataset {b.dataset.name}",
            "version": __version__,
            "date_created": b.dataset.created_at,
        },
        "licenses": [{"id": 1, "name": b.dataset.licence}],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": "finding"} for n, i in cats.items()],
    }
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return len(images)


def _mask(boxes: dict[str, Box], labels: tuple[str, ...], rows: int, cols: int) -> np.ndarray:
    """(1, rows, cols, segments) binary: each finding's box filled (a brush mask would
    take its place here; the page edits boxes)."""
    mask = np.zeros((1, rows, cols, len(labels)), dtype=bool)
    for s, name in enumerate(labels):
        if name in boxes:
            bx = boxes[name]
            mask[0, bx.y : bx.y + bx.height, bx.x : bx.x + bx.width, s] = True
    return mask


def write_dicom_seg(b: Bundle, out: Path) -> int:
    """One DICOM SEG per DICOM image with at least one final box, referencing its source
    image; non-DICOM images are named in the problems and left out."""
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for it in b.items:
        if not it.image:
            continue
        boxes = final_boxes(b, it)
        if it.meta.get("format") != "dicom":
            b.problems.append(f"item {it.position}: not a DICOM image; no SEG written")
            continue
        if not boxes:
            continue
        src = pydicom.dcmread(it.image)
        names = tuple(n for n in b.dataset.labels if n in boxes)
        descriptions = [
            hd.seg.SegmentDescription(
                segment_number=i + 1,
                segment_label=name[:64],
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=codes.SCT.Lesion,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
            for i, name in enumerate(names)
        ]
        spacing = getattr(src, "PixelSpacing", None) or getattr(src, "ImagerPixelSpacing", None)
        # A projection radiograph has no plane geometry of its own; SEG needs the measures.
        measures = hd.PixelMeasuresSequence(
            pixel_spacing=[float(v) for v in (spacing or (1.0, 1.0))], slice_thickness=1.0
        )
        seg = hd.seg.Segmentation(
            source_images=[src],
            pixel_measures=measures,
            pixel_array=_mask(boxes, names, int(src.Rows), int(src.Columns)),
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=hd.UID(),
            series_number=900,
            sop_instance_uid=hd.UID(),
            instance_number=it.position,
            manufacturer="radpilot",
            manufacturer_model_name="radpilot datasets",
            software_versions=__version__,
            device_serial_number="radpilot",
            series_description=f"annotations: {b.dataset.name}"[:64],
        )
        if b.deid is not None:
            _deidentify_seg(seg, b, it)
        seg.save_as(out / f"{b.file_stem(it)}.seg.dcm")
        written += 1
    return written


def _deidentify_seg(seg: Any, b: Bundle, it: Item) -> None:
    """Patient identity replaced by the keyed pseudonym, birth date emptied, dates cut
    to 1 January of their year. UIDs that point to the source image are kept: without
    them the mask cannot be laid on its image."""
    assert b.deid is not None
    pid = str(getattr(seg, "PatientID", "") or it.ref)
    seg.PatientID = b.deid.pseudonym("pt", pid)
    seg.PatientName = seg.PatientID
    seg.PatientBirthDate = ""
    for tag in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"):
        value = str(getattr(seg, tag, "") or "")
        if len(value) >= 4:
            setattr(seg, tag, value[:4] + "0101")


def _png(it: Item, target: Path) -> float:
    """Write the item's image as an 8-bit PNG (metadata dropped); the scale from source
    pixels to the PNG's."""
    from PIL import Image

    from radpilot.imaging.dicomio import read_image

    img = read_image(it.image or "")
    pixels = np.clip(np.asarray(img.pixels) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(target, format="PNG")
    return 1.0 / float(img.meta.extra.get("downsampled", 1) or 1)


def write_hf(b: Bundle, out: Path) -> int:
    """``images/*.png`` and ``metadata.jsonl`` (``file_name`` first, then id, text,
    one column per label, ``objects`` with COCO boxes and categories)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out / "metadata.jsonl", "w", encoding="utf-8") as fh:
        for it in b.items:
            if not it.image:
                continue
            rel = f"images/{b.file_stem(it)}.png"
            scale = _png(it, out / rel)
            boxes = final_boxes(b, it)
            row: dict[str, Any] = {"file_name": rel, "id": b.ref(it), "position": it.position}
            if it.text:
                row["text"] = b.text(it)
            row.update(b.labels(it))
            row["objects"] = {
                "bbox": [
                    [round(v * scale, 1) for v in (x.x, x.y, x.width, x.height)]
                    for x in boxes.values()
                ],
                "category": list(boxes),
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n
