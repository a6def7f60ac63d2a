"""The one outputs writer of the image route: what ``analyze`` and ``compare`` leave on
disk. The CLI only prints; everything written is written here.

``ImageOutputs(out)`` gets each image's :class:`~radpilot.imaging.results.ImageAnalysis`
as the pipeline finishes it and writes, in ``out/NNN_<file>/``, one PNG per explained
finding (the overlay rendered once by the pipeline, caption burned in) and, for DICOM
input, whatever its ``dicom`` writer makes of it (``radpilot.interop.dicom_outputs``:
an SR and a Secondary Capture per overlay, from the dataset read with the image). Once
the batch is complete (studies grouped), ``finish`` writes ``out/analysis.json``.
The DICOM writer is handed in rather than imported: DICOM export lives in
``radpilot.interop``, a layer above this one.

``ComparisonOutputs(out)`` writes ``compare``'s subtraction image, registered prior,
resized current and ``comparison.json``.

An output folder that cannot be created is one clear error before any work is done.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from radpilot.errors import InputError, RadpilotError
from radpilot.imaging.overlay import save_png, to_uint8
from radpilot.imaging.results import ImageAnalysis, ImageResult

if TYPE_CHECKING:
    from radpilot.imaging.compare import Comparison
    from radpilot.imaging.model_api import Radiograph
    from radpilot.imaging.registration import Registration

log = logging.getLogger(__name__)

ANALYSIS_JSON = "analysis.json"
COMPARISON_JSON = "comparison.json"


class DicomWriter(Protocol):
    """Writes the DICOM objects for one analysed DICOM image into ``folder``; returns
    their paths by kind (``"sr"``, ``"sc:<finding>"``)."""

    def write(self, analysis: ImageAnalysis, folder: Path) -> dict[str, str]: ...


def prepare_folder(path: Path) -> Path:
    """Create the output folder (and its parents) now, or say in one line why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"{path}: cannot create the output folder: a file of that name exists"
        ) from None
    except NotADirectoryError:
        raise InputError(
            f"{path}: cannot create the output folder: a parent of it is a file"
        ) from None
    except PermissionError:
        raise InputError(f"{path}: cannot create the output folder: permission denied") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{path}: cannot create the output folder: {reason}") from None
    return path


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "image"


def folder_name(index: int, path: str | Path) -> str:
    return f"{index + 1:03d}_{slug(Path(path).stem)}"


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return path


def write_json(results: Sequence[ImageResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_text(path, json.dumps([r.to_dict() for r in results], indent=2) + "\n")


class ImageOutputs:
    """Overlay PNGs, DICOM objects (through ``dicom``) and ``analysis.json`` under ``out``."""

    renders = True

    def __init__(self, out: Path, *, dicom: DicomWriter | None = None) -> None:
        self.out = prepare_folder(Path(out))
        self.dicom = dicom

    def write_image(self, analysis: ImageAnalysis) -> ImageResult:
        result = analysis.result
        image = analysis.image
        dicom = self.dicom is not None and image is not None and image.dataset is not None
        dicom = dicom and bool(result.findings)
        if not analysis.explanations and not dicom:
            return result
        folder = self.out / folder_name(analysis.index, result.path)
        try:
            result = self._write_pngs(analysis, folder)
        except OSError as exc:
            return _warned(result, f"overlays not written: {exc.strerror or type(exc).__name__}")
        if not dicom or self.dicom is None:
            return result
        try:
            written = self.dicom.write(replace(analysis, result=result), folder)
        except (RadpilotError, OSError) as exc:
            return _warned(result, f"DICOM output not written: {exc}")
        return replace(result, outputs={**result.outputs, **written})

    def _write_pngs(self, analysis: ImageAnalysis, folder: Path) -> ImageResult:
        paths = {
            e.label: str(save_png(e.overlay, folder / f"{slug(e.label)}_overlay.png"))
            for e in analysis.explanations
        }
        findings = tuple(replace(f, heatmap=paths.get(f.name)) for f in analysis.result.findings)
        return replace(analysis.result, findings=findings)

    def finish(self, results: Sequence[ImageResult]) -> None:
        write_json(results, self.out / ANALYSIS_JSON)


def _warned(result: ImageResult, warning: str) -> ImageResult:
    return replace(result, warnings=(*result.warnings, warning))


class ComparisonOutputs:
    """``compare``'s images and JSON under ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = prepare_folder(Path(out))

    def write(self, comparison: Comparison, current: Radiograph, reg: Registration) -> Comparison:
        from radpilot.imaging.compare import subtraction
        from radpilot.imaging.registration import resize

        diff = subtraction(current.pixels, reg)
        cur = resize(current.pixels, reg.warped.shape)
        outputs = {
            "subtraction": str(save_png(to_uint8(0.5 + diff / 2.0), self.out / "subtraction.png")),
            "prior_registered": str(
                save_png(to_uint8(reg.warped), self.out / "prior_registered.png")
            ),
            "current": str(save_png(to_uint8(cur), self.out / "current.png")),
        }
        done = replace(comparison, outputs=outputs)
        _write_text(self.out / COMPARISON_JSON, json.dumps(done.to_dict(), indent=2) + "\n")
        return done
