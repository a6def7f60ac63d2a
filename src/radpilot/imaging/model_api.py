"""The contract between image input, image models and the analysis pipeline.

Readers (DICOM, PNG, JPEG) produce a ``Radiograph``; every registered model
takes ``Radiograph`` objects and returns probabilities in its card's label
order. A model does its own resizing and normalisation, as its card says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ImageMeta:
    path: str
    source_format: str  # "dicom" | "png" | "jpeg"
    patient_id: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None
    study_date: str | None = None  # YYYYMMDD as in DICOM
    modality: str | None = None  # CR, DX, ...
    view_position: str | None = None  # PA, AP, LATERAL, LL, ...
    body_part: str | None = None
    photometric: str | None = None  # as stored: MONOCHROME1, MONOCHROME2, RGB
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Radiograph:
    """Display-ready pixels: float32, 2-D, values in [0, 1], 1 = white (bone bright),
    after MONOCHROME1 inversion, rescale and VOI windowing; reduced by an integer factor
    when the source is larger than the working size (``meta.extra["downsampled"]``)."""

    pixels: np.ndarray
    meta: ImageMeta
    # The DICOM dataset as read, without its pixel data (None for other formats): the
    # DICOM outputs reference it, so a file is never read twice.
    dataset: Any = None


@runtime_checkable
class ImageModel(Protocol):
    """A chest radiograph classifier. ``card`` is its JSON model card, validated."""

    @property
    def name(self) -> str: ...

    @property
    def labels(self) -> Sequence[str]: ...

    @property
    def thresholds(self) -> dict[str, float]: ...

    def predict(self, images: Sequence[Radiograph]) -> np.ndarray:
        """Probabilities, shape (len(images), len(labels)), float in [0, 1]."""
        ...

    def heatmap(self, image: Radiograph, label: str) -> np.ndarray:
        """Saliency (Grad-CAM or equivalent) for one label: float32 in [0, 1],
        same shape as ``image.pixels``."""
        ...
