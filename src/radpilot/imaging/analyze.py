"""The analysis pipeline behind ``radpilot analyze``: files -> findings with evidence.

For every input file: read it (DICOM/PNG/JPEG), check the acquisition (lateral,
non-chest, non-radiograph images are flagged and not analysed), run the model, decide
each finding at the model's operating point, and for positive findings compute the
model's heatmap, a box from it (``overlay.box_from_heatmap``) and an overlay PNG. An
urgency tier comes from the rule in ``imaging/data/urgency.json``. With an output
folder and DICOM input, a DICOM SR and a Secondary Capture are written too.

A file that cannot be read gets an ``error`` and the batch goes on: results come back
in input order, one per file (rows out == rows in).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import InputError, RadpilotError
from radpilot.imaging.dicomio import iter_image_files, read_image
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph
from radpilot.imaging.overlay import Box, box_from_heatmap, render_overlay, save_png
from radpilot.imaging.studies import Flag, check_acquisition, group_studies
from radpilot.imaging.urgency import Urgency, score_urgency

log = logging.getLogger(__name__)

BATCH_SIZE = 8
DISCLAIMER = "AI-assist result for a radiologist's review; not a diagnosis."


@dataclass(frozen=True)
class FindingResult:
    name: str
    probability: float
    threshold: float
    positive: bool
    box: Box | None = None
    heatmap: str | None = None  # path of the overlay PNG, when written

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "probability": round(self.probability, 4),
            "positive": self.positive,
            "threshold": round(self.threshold, 4),
            "box": None if self.box is None else self.box.to_dict(),
            "heatmap": self.heatmap,
        }


@dataclass(frozen=True)
class ImageResult:
    path: str
    model: str
    findings: tuple[FindingResult, ...] = ()
    urgency: Urgency | None = None
    meta: ImageMeta | None = None
    flags: tuple[Flag, ...] = ()
    study: str | None = None
    primary: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def analysed(self) -> bool:
        return self.error is None and bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        meta = None
        if self.meta is not None:
            m = self.meta
            meta = {
                "format": m.source_format,
                "patient_id": m.patient_id,
                "study_uid": m.study_uid,
                "series_uid": m.series_uid,
                "sop_uid": m.sop_uid,
                "study_date": m.study_date,
                "modality": m.modality,
                "view_position": m.view_position,
                "body_part": m.body_part,
                "photometric": m.photometric,
                "rows": m.extra.get("rows"),
                "columns": m.extra.get("columns"),
            }
        return {
            "path": self.path,
            "model": self.model,
            "analysed": self.analysed,
            "findings": [f.to_dict() for f in self.findings],
            "urgency": None if self.urgency is None else self.urgency.to_dict(),
            "study": self.study,
            "primary_view": self.primary,
            "flags": [f.to_dict() for f in self.flags],
            "metadata": meta,
            "outputs": dict(self.outputs),
            "error": self.error,
            "warnings": list(self.warnings),
            "note": DISCLAIMER,
        }


def resolve_model(model: ImageModel | str | None) -> ImageModel:
    """A model object, or one from the registry by name (default: the embedded model)."""
    if model is not None and not isinstance(model, str):
        return model
    from radpilot.imaging import registry

    return registry.get(model or registry.DEFAULT_MODEL)


def analyze(
    paths: Iterable[str | Path],
    *,
    model: ImageModel | str | None = None,
    out: Path | None = None,
    sr: bool = True,
    all_heatmaps: bool = False,
) -> list[ImageResult]:
    """Analyse every image under ``paths``; one result per file, in order.

    ``out``: folder for overlays (and SR/SC for DICOM input when ``sr``).
    ``all_heatmaps``: heatmaps and boxes for every finding, not only positive ones.
    """
    files = list(iter_image_files(paths))
    if not files:
        raise InputError("no image files found in the given paths")
    net = resolve_model(model)
    labels = list(net.labels)
    thresholds = {label: float(net.thresholds.get(label, 0.5)) for label in labels}

    results: list[ImageResult] = []
    # Chunk by chunk, so a large folder never holds more than BATCH_SIZE images' pixels.
    for start in range(0, len(files), BATCH_SIZE):
        chunk = files[start : start + BATCH_SIZE]
        results.extend(_analyze_chunk(net, chunk, start, labels, thresholds, out, sr, all_heatmaps))
    # Studies are known only once every header is read; they label, never gate, results.
    studies = group_studies([r.meta for r in results if r.meta is not None and r.error is None])
    primary_paths = {s.primary_meta.path for s in studies if s.primary_meta is not None}
    study_of = {m.path: s.key for s in studies for m in s.metas}
    results = [
        r
        if r.meta is None or r.error is not None
        else replace(r, study=study_of.get(r.meta.path), primary=r.meta.path in primary_paths)
        for r in results
    ]
    analysed = sum(r.analysed for r in results)
    log.info("analysed %d of %d files with %s", analysed, len(results), net.name)
    return results


def _analyze_chunk(
    net: ImageModel,
    files: Sequence[Path],
    offset: int,
    labels: list[str],
    thresholds: dict[str, float],
    out: Path | None,
    sr: bool,
    all_heatmaps: bool,
) -> list[ImageResult]:
    images: list[Radiograph | None] = []
    errors: list[str | None] = []
    for path in files:
        try:
            images.append(read_image(path))
            errors.append(None)
        except RadpilotError as exc:
            images.append(None)
            errors.append(str(exc))
        except Exception as exc:  # a decoder bug on one file must not end the batch
            log.debug("unexpected error reading %s", path, exc_info=True)
            images.append(None)
            errors.append(f"{path}: unexpected {type(exc).__name__}: {exc}")
    flags = [tuple(check_acquisition(img.meta)) if img else () for img in images]
    runnable = [
        i
        for i, img in enumerate(images)
        if img is not None and not any(f.blocking for f in flags[i])
    ]
    probs = _predict(net, images, runnable, errors, files)
    results: list[ImageResult] = []
    for i, path in enumerate(files):
        img = images[i]
        if img is None or errors[i] is not None:
            meta = None if img is None else img.meta
            results.append(ImageResult(path=str(path), model=net.name, error=errors[i], meta=meta))
            continue
        base = ImageResult(path=str(path), model=net.name, meta=img.meta, flags=flags[i])
        if i not in probs:
            results.append(base)
            continue
        folder = None if out is None else out / _folder_name(offset + i, path)
        results.append(
            _finish_one(net, img, labels, thresholds, probs[i], base, folder, sr, all_heatmaps)
        )
    return results


def _predict(
    net: ImageModel,
    images: Sequence[Radiograph | None],
    runnable: list[int],
    errors: list[str | None],
    files: Sequence[Path],
) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(runnable), BATCH_SIZE):
        chunk = runnable[start : start + BATCH_SIZE]
        batch = [images[i] for i in chunk]
        try:
            p = np.asarray(net.predict([b for b in batch if b is not None]), dtype=np.float64)
            for row, i in enumerate(chunk):
                out[i] = p[row]
        except Exception:
            # One bad image must not cost its batch: retry one by one to find it.
            for i in chunk:
                img = images[i]
                assert img is not None
                try:
                    out[i] = np.asarray(net.predict([img]), dtype=np.float64)[0]
                except Exception as exc:
                    log.debug("model failed on %s", files[i], exc_info=True)
                    errors[i] = f"{files[i]}: model {net.name} failed: {type(exc).__name__}: {exc}"
    return out


def _finish_one(
    net: ImageModel,
    img: Radiograph,
    labels: list[str],
    thresholds: dict[str, float],
    p: np.ndarray,
    base: ImageResult,
    folder: Path | None,
    sr: bool,
    all_heatmaps: bool,
) -> ImageResult:
    findings: list[FindingResult] = []
    heatmaps: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for j, label in enumerate(labels):
        prob = float(np.clip(p[j], 0.0, 1.0))
        positive = prob >= thresholds[label]
        box = None
        overlay_path = None
        if positive or all_heatmaps:
            try:
                heat = np.asarray(net.heatmap(img, label), dtype=np.float32)
                box = box_from_heatmap(heat)
                if folder is not None:
                    overlay = render_overlay(img.pixels, heat, box)
                    overlay_path = str(save_png(overlay, folder / f"{_slug(label)}_overlay.png"))
                heatmaps[label] = heat
            except Exception as exc:  # the finding stands; only its localisation is lost
                log.debug("heatmap failed for %s", img.meta.path, exc_info=True)
                warnings.append(f"no heatmap for {label}: {type(exc).__name__}: {exc}")
                box, overlay_path = None, None
        findings.append(FindingResult(label, prob, thresholds[label], positive, box, overlay_path))
    urgency = score_urgency(
        {f.name: f.probability for f in findings}, {f.name: f.positive for f in findings}
    )
    result = replace(base, findings=tuple(findings), urgency=urgency, warnings=tuple(warnings))
    outputs: dict[str, str] = {}
    if folder is not None and sr and img.meta.source_format == "dicom":
        from radpilot.imaging import dicom_out

        try:
            outputs.update(dicom_out.write_outputs(result, img, heatmaps, folder))
        except (RadpilotError, OSError) as exc:
            return _with(result, outputs, f"DICOM output not written: {exc}")
    return _with(result, outputs, None)


def _with(result: ImageResult, outputs: dict[str, str], warning: str | None) -> ImageResult:
    return replace(
        result,
        outputs={**result.outputs, **outputs},
        warnings=result.warnings + ((warning,) if warning else ()),
    )


def _folder_name(index: int, path: Path) -> str:
    return f"{index + 1:03d}_{_slug(path.stem)}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "image"


def write_json(results: Sequence[ImageResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n", "utf-8")
    return path
