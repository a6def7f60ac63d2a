"""Model cards: one JSON file per registered model under ``imaging/cards/``,
validated strictly (unknown keys are rejected and the allowed ones listed)."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from radpilot.errors import VocabularyError


class Task(StrEnum):
    CLASSIFICATION = "classification"
    SEGMENTATION = "segmentation"


class Backend(StrEnum):
    """Which code builds the network and reads its weights."""

    EMBEDDED_CNN = "embedded-cnn"  # radpilot.imaging.nets.PneumoniaNet ensemble
    XRV_DENSENET = "xrv-densenet"  # torchxrayvision DenseNet-121
    XRV_RESNET = "xrv-resnet"  # torchxrayvision ResNet-50
    XRV_PSPNET = "xrv-pspnet"  # torchxrayvision chest anatomy PSPNet


class Runtime(StrEnum):
    TORCH = "torch"
    ONNX = "onnx"


class Crop(StrEnum):
    CENTER_SQUARE = "center-square"  # central square of side min(H, W)
    NONE = "none"


class Resize(StrEnum):
    AREA = "area"  # mean over each output pixel's footprint (anti-aliased)
    BILINEAR_ANTIALIAS = "bilinear-antialias"


class Normalization(StrEnum):
    AFFINE = "affine"  # (x - mean) / std on [0, 1] pixels
    XRV = "xrv"  # torchxrayvision: (2x - 1) * 1024, i.e. [-1024, 1024]


class WeightsFormat(StrEnum):
    TORCH_STATE_DICT = "torch-state-dict"  # torch.load(..., weights_only=True)
    # A whole pickled module (torchxrayvision's DenseNet release): read with
    # weights_only=True and an explicit allow-list of layer classes.
    TORCH_MODULE = "torch-module"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Preprocessing(_Strict):
    input_size: int
    crop: Crop
    resize: Resize
    normalization: Normalization
    mean: float = 0.0
    std: float = 1.0
    tta_flip: bool = False  # average with the horizontally flipped image
    description: str


class Weights(_Strict):
    file: str
    format: WeightsFormat
    bundled: bool  # shipped inside the package (imaging/weights/)
    url: str | None
    sha256: str | None  # None: pinned locally on first install (see radpilot.imaging.cache)
    bytes: int | None = None


class Figure(_Strict):
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    dataset: str
    split: str
    n: int
    note: str = ""


class ModelCard(_Strict):
    name: str
    version: str
    task: Task
    backend: Backend
    runtime: Runtime = Runtime.TORCH
    architecture: str
    labels: list[str]
    # The network's output order when it has outputs radpilot does not report
    # (e.g. untrained heads); None: the outputs are exactly ``labels``.
    outputs: list[str] | None = None
    thresholds: dict[str, float]
    threshold_method: str
    preprocessing: Preprocessing
    gradcam_layers: list[str]
    intended_use: str
    limitations: list[str]
    training_data: str
    licence: str
    citations: list[str]
    accuracy_measured_here: bool
    measured: list[Figure]
    weights: Weights

    @model_validator(mode="after")
    def _consistent(self) -> ModelCard:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        unknown = sorted(set(self.thresholds) - set(self.labels))
        if unknown:
            raise ValueError(f"thresholds for labels not in 'labels': {unknown}")
        missing = [label for label in self.labels if label not in self.thresholds]
        if missing:
            raise ValueError(f"every label needs a threshold; missing: {missing}")
        if self.outputs is not None:
            absent = [label for label in self.labels if label not in self.outputs]
            if absent or len(set(self.outputs)) != len(self.outputs):
                raise ValueError(f"'outputs' must be unique and hold every label; absent: {absent}")
        bad = {k: v for k, v in self.thresholds.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"thresholds must lie in [0, 1]: {bad}")
        if self.weights.sha256 is not None and (
            len(self.weights.sha256) != 64
            or any(c not in "0123456789abcdef" for c in self.weights.sha256)
        ):
            raise ValueError("weights.sha256 must be 64 lowercase hex digits or null")
        if self.weights.bundled and self.weights.sha256 is None:
            raise ValueError("bundled weights must pin their sha256")
        if not self.weights.bundled and not self.weights.url:
            raise ValueError("weights that are not bundled need a url")
        return self

    @property
    def output_labels(self) -> list[str]:
        """The network's outputs, in order (``outputs``, else ``labels``)."""
        return list(self.outputs) if self.outputs is not None else list(self.labels)


def _format_error(name: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(card)"
        if err["type"] == "extra_forbidden":
            parent: type[BaseModel] = ModelCard
            for p in err["loc"][:-1]:
                if isinstance(p, int):  # an index into a list field
                    continue
                field = parent.model_fields.get(str(p))
                ann = field.annotation if field is not None else None
                if get_origin(ann) is list:
                    (ann,) = get_args(ann)
                if isinstance(ann, type) and issubclass(ann, BaseModel):
                    parent = ann
            allowed = ", ".join(parent.model_fields)
            parts.append(f"unknown key {loc!r} (allowed: {allowed})")
        else:
            parts.append(f"{loc}: {err['msg']}")
    return f"model card {name!r} is invalid: " + "; ".join(parts)


def parse_card(name: str, data: Any) -> ModelCard:
    """Validate one card's decoded JSON; a bad card raises ``VocabularyError``
    naming the field (and, for unknown keys, the allowed ones)."""
    try:
        card = ModelCard.model_validate(data)
    except ValidationError as exc:
        raise VocabularyError(_format_error(name, exc)) from None
    if card.name != name:
        raise VocabularyError(f"model card {name!r} is invalid: its 'name' is {card.name!r}")
    return card


def card_names() -> list[str]:
    """Every card shipped in ``imaging/cards/``, sorted."""
    root = resources.files("radpilot.imaging") / "cards"
    return sorted(p.name[: -len(".json")] for p in root.iterdir() if p.name.endswith(".json"))


@cache
def load_card(name: str) -> ModelCard:
    path = resources.files("radpilot.imaging") / "cards" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"model card {name!r} is not valid JSON: {exc}") from None
    return parse_card(name, data)
