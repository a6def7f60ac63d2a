"""Model cards: one JSON file per registered model under ``imaging/cards/``, validated
by the shared strict loader (:mod:`radpilot.datafiles`: unknown keys are rejected and the
allowed ones listed), with one JSON Schema for all of them (``model_card.schema.json``).

A card names the code that builds its network (``backend``, a name in
``radpilot.registry.image_backends``) and the runtime that serves it (``runtime``, a
name in ``radpilot.registry.image_runtimes``); a name that is not registered does not
load, and the error lists the registered ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, model_validator

from radpilot.datafiles import DataDocument, DataModel, parse, parse_text
from radpilot.errors import VocabularyError


class Task(StrEnum):
    CLASSIFICATION = "classification"
    SEGMENTATION = "segmentation"


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


def _registered(namespace: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        from radpilot import registry

        parts = registry.namespaces()[namespace]
        if name not in parts:
            raise ValueError(f"{name!r} is not registered; registered: {', '.join(parts.names())}")
        return parts.resolve(name)

    return check


BackendName = Annotated[str, AfterValidator(_registered("image_backends"))]
RuntimeName = Annotated[str, AfterValidator(_registered("image_runtimes"))]


class Preprocessing(DataModel):
    input_size: int
    crop: Crop
    resize: Resize
    normalization: Normalization
    mean: float = 0.0
    std: float = 1.0
    tta_flip: bool = False  # average with the horizontally flipped image
    description: str


class Weights(DataModel):
    file: str
    format: WeightsFormat
    bundled: bool  # shipped inside the package (imaging/weights/)
    url: str | None
    sha256: str | None  # None: pinned locally on first install (see radpilot.imaging.cache)
    bytes: int | None = None


class Figure(DataModel):
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    dataset: str
    split: str
    n: int
    note: str = ""


class ModelCard(DataDocument):
    name: str
    version: str
    task: Task
    backend: BackendName
    runtime: RuntimeName = "torch.v1"
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


CARD_SCHEMA = "model_card.schema.json"


def card_where(name: str) -> str:
    return f"radpilot/imaging/cards/{name}.json"


def parse_card(name: str, data: Any) -> ModelCard:
    """Validate one card's decoded JSON; a bad card raises ``VocabularyError``
    naming the file and the key path (and, for unknown keys, the allowed ones)."""
    card = parse(data, ModelCard, card_where(name))
    if card.name != name:
        raise VocabularyError(f"{card_where(name)}: name: is {card.name!r}, the file says {name!r}")
    return card


def card_names() -> list[str]:
    """Every card shipped in ``imaging/cards/``, sorted."""
    root = resources.files("radpilot.imaging") / "cards"
    return sorted(
        p.name[: -len(".json")]
        for p in root.iterdir()
        if p.name.endswith(".json") and not p.name.endswith(".schema.json")
    )


@cache
def load_card(name: str) -> ModelCard:
    path = resources.files("radpilot.imaging") / "cards" / f"{name}.json"
    return parse_card(name, parse_text(path.read_text(encoding="utf-8"), card_where(name)))


@dataclass(frozen=True)
class CardFolder:
    """Every model card, as one entry of ``radpilot.registry.data_files``: loading it
    validates each card, and its schema (shared by all cards) is published once."""

    package: str = "radpilot.imaging"
    folder: str = "cards"

    @property
    def where(self) -> str:
        return f"{self.package.replace('.', '/')}/{self.folder}/*.json"

    def load(self) -> dict[str, ModelCard]:
        return {name: load_card(name) for name in card_names()}

    def schema(self) -> dict[str, Any]:
        return ModelCard.model_json_schema(by_alias=True)

    def schema_text(self) -> str:
        return json.dumps(self.schema(), indent=2, sort_keys=True) + "\n"

    def schema_on_disk(self) -> Path:
        return Path(str(resources.files(self.package) / self.folder / CARD_SCHEMA))


CARDS = CardFolder()
