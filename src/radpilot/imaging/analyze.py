"""The analysis pipeline behind ``radpilot analyze``: files -> findings with evidence.

One way, stage by stage, a window of ``BATCH_SIZE`` files at a time (so a large folder
never holds more than a window's pixels):

1. **read** each file once (DICOM/PNG/JPEG; the DICOM dataset is kept for the outputs);
2. **check** it: acquisition flags from the header (lateral, non-chest, not a
   radiograph) and the quality gate on the pixels (``imaging/quality.py``); a blocking
   flag keeps the image from the model, so it is never urgent;
3. **group** the images into studies (a blocked image is never a study's primary);
4. **predict** the images that passed, in batches;
5. **explain** each positive finding (every finding with ``all_heatmaps``): the heatmap
   once, a box from it, one overlay with the caption burned in;
6. hand each image's :class:`~radpilot.imaging.results.ImageAnalysis` to the one
   outputs writer, if any (``imaging.outputs.ImageOutputs``: PNG, DICOM SR/SC), and the
   final results to it once studies are complete (``analysis.json``).

An urgency tier comes from the rule in ``imaging/data/urgency.json``. A file that cannot
be read gets an ``error`` and the batch goes on: results come back in input order, one
per file (rows out == rows in).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from radpilot.errors import InputError, RadpilotError
from radpilot.imaging import quality
from radpilot.imaging.decoder import PixelDecoder
from radpilot.imaging.dicomio import ImageFile, NotAnImage, iter_candidates, read_image
from radpilot.imaging.model_api import ImageModel, Radiograph
from radpilot.imaging.overlay import box_from_heatmap, burn_in, caption, render_overlay
from radpilot.imaging.pixels import ReadLimits, one_line
from radpilot.imaging.results import (
    Explanation,
    FindingResult,
    Flag,
    ImageAnalysis,
    ImageResult,
)
from radpilot.imaging.studies import check_acquisition, group_studies
from radpilot.imaging.urgency import not_assessed, score_urgency

log = logging.getLogger(__name__)

BATCH_SIZE = 8


class OutputsWriter(Protocol):
    """What the pipeline hands its results to (``imaging.outputs.ImageOutputs``)."""

    @property
    def renders(self) -> bool:
        """Whether overlays are wanted (they are rendered only for a writer that does)."""
        ...

    def write_image(self, analysis: ImageAnalysis) -> ImageResult: ...

    def finish(self, results: Sequence[ImageResult]) -> None: ...


@dataclass(frozen=True)
class _Read:
    index: int
    path: Path
    image: Radiograph | None = None
    error: str | None = None
    flags: tuple[Flag, ...] = ()

    @property
    def runnable(self) -> bool:
        return self.image is not None and not any(f.blocking for f in self.flags)


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
    all_heatmaps: bool = False,
    limits: ReadLimits | None = None,
    writer: OutputsWriter | None = None,
) -> list[ImageResult]:
    """Analyse every image under ``paths``; one result per file, in input order.

    ``all_heatmaps``: heatmaps and boxes for every finding, not only positive ones.
    ``limits``: the largest image accepted and the working size (``ReadLimits``).
    ``writer``: gets each image's analysis as it is done and the final results.
    """
    files = list(iter_candidates(paths))
    if not files:
        raise InputError("no image files found in the given paths")
    net = resolve_model(model)
    limits = limits or ReadLimits()
    render = writer is not None and writer.renders
    results: list[ImageResult] = []
    seen: list[_Read] = []
    with PixelDecoder() as decoder:  # one decoder process for the batch, if any is compressed
        for start in range(0, len(files), BATCH_SIZE):
            read = [_read(f, limits, decoder) for f in files[start : start + BATCH_SIZE]]
            kept = [r for r in read if r is not None]  # suffix-less non-DICOM files: not inputs
            checked = [_check(replace(r, index=len(seen) + i)) for i, r in enumerate(kept)]
            seen.extend(checked)
            probs = _predict(net, checked)
            for item in checked:
                analysis = _explain(net, item, probs.get(item.index), all_heatmaps, render)
                result = writer.write_image(analysis) if writer is not None else analysis.result
                results.append(result)
    results = _label_studies(results, seen)
    if writer is not None:
        writer.finish(results)
    log.info(
        "analysed %d of %d files with %s", sum(r.analysed for r in results), len(results), net.name
    )
    return results


def _read(file: ImageFile, limits: ReadLimits, decoder: PixelDecoder) -> _Read | None:
    try:
        image = read_image(file.path, limits=limits, optional=file.optional, decoder=decoder)
        return _Read(0, file.path, image=image)
    except NotAnImage:
        return None  # a suffix-less non-DICOM file in a folder: not an input
    except RadpilotError as exc:
        return _Read(0, file.path, error=str(exc))
    except Exception as exc:  # a decoder bug on one file must not end the batch
        log.debug("unexpected error reading %s", file.path, exc_info=True)
        error = f"{file.path}: unexpected {type(exc).__name__}: {one_line(exc)}"
        return _Read(0, file.path, error=error)


def _check(item: _Read) -> _Read:
    """Acquisition flags from the header, then the quality gate on the pixels."""
    if item.image is None:
        return item
    flags = list(check_acquisition(item.image.meta))
    if not any(f.blocking for f in flags):
        try:
            flags += quality.check(item.image)
        except RadpilotError:
            raise  # a broken rules or weights file fails every image alike
        except Exception as exc:
            log.debug("quality gate failed on %s", item.path, exc_info=True)
            return replace(item, error=f"{item.path}: quality gate failed: {type(exc).__name__}")
    flags.sort(key=lambda f: not f.blocking)
    return replace(item, flags=tuple(flags))


def _label_studies(results: list[ImageResult], seen: Sequence[_Read]) -> list[ImageResult]:
    """Studies over the whole batch (an image may join a study from an earlier window):
    each result gets its study key and whether it is the study's primary image."""
    metas = [r.image.meta for r in seen if r.image is not None and r.error is None]
    blocked = {r.image.meta.path for r in seen if r.image is not None and not r.runnable}
    studies = group_studies(metas, blocked)
    primary = {s.primary_meta.path for s in studies if s.primary_meta is not None}
    study_of = {m.path: s.key for s in studies for m in s.metas}
    return [
        r
        if r.meta is None or r.error is not None
        else replace(r, study=study_of.get(r.meta.path), primary=r.meta.path in primary)
        for r in results
    ]


def _predict(net: ImageModel, items: Sequence[_Read]) -> dict[int, np.ndarray | str]:
    """Probabilities per image index, or the error line of an image the model failed on."""
    runnable = [r for r in items if r.runnable and r.image is not None]
    out: dict[int, np.ndarray | str] = {}
    for start in range(0, len(runnable), BATCH_SIZE):
        chunk = runnable[start : start + BATCH_SIZE]
        try:
            p = np.asarray(net.predict([r.image for r in chunk if r.image is not None]), np.float64)
            out.update({r.index: p[row] for row, r in enumerate(chunk)})
        except Exception:
            # One bad image must not cost its batch: retry one by one to find it.
            for r in chunk:
                assert r.image is not None
                try:
                    out[r.index] = np.asarray(net.predict([r.image]), dtype=np.float64)[0]
                except Exception as exc:
                    log.debug("model failed on %s", r.path, exc_info=True)
                    out[r.index] = (
                        f"{r.path}: model {net.name} failed: {type(exc).__name__}: {one_line(exc)}"
                    )
    return out


def _explain(
    net: ImageModel,
    item: _Read,
    probs: np.ndarray | str | None,
    all_heatmaps: bool,
    render: bool,
) -> ImageAnalysis:
    """Findings at the operating points, a heatmap (once) and box per positive finding,
    the overlay rendered once when a writer wants it, and the urgency tier."""
    base = ImageResult(
        path=str(item.path),
        model=net.name,
        meta=None if item.image is None else item.image.meta,
        flags=item.flags,
        error=probs if isinstance(probs, str) else item.error,
        notes=() if item.image is None else reading_notes(item.image),
    )
    if item.image is None or base.error is not None:
        return ImageAnalysis(base, item.image, index=item.index)
    if probs is None:  # a blocking flag kept it from the model
        return ImageAnalysis(
            replace(base, urgency=not_assessed(item.flags)), item.image, index=item.index
        )
    image = item.image
    findings: list[FindingResult] = []
    explanations: list[Explanation] = []
    warnings: list[str] = []
    for j, label in enumerate(net.labels):
        threshold = float(net.thresholds.get(label, 0.5))
        prob = float(np.clip(probs[j], 0.0, 1.0))
        finding = FindingResult(label, prob, threshold, prob >= threshold)
        if finding.positive or all_heatmaps:
            try:
                finding, explanation = _localise(net, image, finding, render)
                explanations.extend([explanation] if explanation is not None else [])
            except Exception as exc:  # the finding stands; only its localisation is lost
                log.debug("heatmap failed for %s", item.path, exc_info=True)
                warnings.append(f"no heatmap for {label}: {type(exc).__name__}: {one_line(exc)}")
        findings.append(finding)
    urgency = score_urgency(
        {f.name: f.probability for f in findings}, {f.name: f.positive for f in findings}
    )
    result = replace(base, findings=tuple(findings), urgency=urgency, warnings=tuple(warnings))
    return ImageAnalysis(result, image, tuple(explanations), index=item.index)


def _localise(
    net: ImageModel, image: Radiograph, finding: FindingResult, render: bool
) -> tuple[FindingResult, Explanation | None]:
    heat = np.asarray(net.heatmap(image, finding.name), dtype=np.float32)
    if heat.shape != image.pixels.shape:
        raise ValueError(f"heatmap shape {heat.shape} differs from image {image.pixels.shape}")
    box = box_from_heatmap(heat)
    explanation = None
    if render:
        lines = caption(finding.name, finding.probability, finding.threshold, finding.positive)
        overlay = burn_in(render_overlay(image.pixels, heat, box), lines)
        explanation = Explanation(finding.name, heat, overlay)
    rows, cols = image.pixels.shape
    sy = float(image.meta.extra.get("rows") or rows) / rows
    sx = float(image.meta.extra.get("columns") or cols) / cols
    return replace(finding, box=None if box is None else box.scaled(sx, sy)), explanation


def reading_notes(image: Radiograph) -> tuple[str, ...]:
    """What the user should know about how the pixels were read."""
    extra = image.meta.extra
    notes = []
    scaling = str(extra.get("scaling") or "")
    if "16-bit" in scaling:
        notes.append(f"intensity scaling: {scaling}")
    factor = extra.get("downsampled", 1) or 1
    if factor != 1:
        notes.append(
            f"read at 1/{factor:g} size ({extra.get('columns')}x{extra.get('rows')} px source); "
            "boxes are in source pixels"
        )
    return tuple(notes)
