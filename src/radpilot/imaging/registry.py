"""Registered image models, by name. Each has a JSON model card in ``imaging/cards/``;
networks and weights load only when ``get`` is called. The card names its backend (the
code that builds the network from the weights) and runtime, both looked up in
``radpilot.registry`` (``image_backends``, ``image_runtimes``), so a third-party package
can add either through an entry point.

>>> from radpilot.imaging import registry
>>> registry.DEFAULT_MODEL
'pneumoniamnist-v1'
>>> model = registry.get(registry.DEFAULT_MODEL)  # doctest: +SKIP
>>> model.predict([radiograph])  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radpilot import registry as parts
from radpilot.errors import ChecksumError, InputError
from radpilot.imaging import cache
from radpilot.imaging.model_api import ImageModel
from radpilot.imaging.model_card import ModelCard, Task, card_names, load_card

if TYPE_CHECKING:
    from radpilot.imaging.segmentation import AnatomySegmenter

DEFAULT_MODEL = "pneumoniamnist-v1"

_lock = threading.Lock()
_loaded: dict[tuple[str, str, str], Any] = {}


def names(task: Task | str | None = None) -> list[str]:
    """Registered model names, sorted; only those of ``task`` when given."""
    all_names = card_names()
    if task is None:
        return all_names
    wanted = Task(task)
    return [n for n in all_names if load_card(n).task is wanted]


def _known(name: str) -> None:
    valid = card_names()
    if name not in valid:
        raise InputError(f"no image model named {name!r}; valid names: {', '.join(valid)}")


def card(name: str) -> ModelCard:
    """The validated model card; an unknown name lists the valid ones."""
    _known(name)
    return load_card(name)


def bundled_weights(c: ModelCard) -> Path:
    return Path(str(resources.files("radpilot.imaging") / "weights" / c.weights.file))


def is_installed(name: str, cache_dir: Path | None = None) -> bool:
    c = card(name)
    if c.weights.bundled:
        return bundled_weights(c).is_file()
    return cache.installed_path(c, cache_dir) is not None


def weights_path(name: str, cache_dir: Path | None = None) -> Path:
    """The verified weights file; ``ModelNotAvailableError`` (saying how to
    install) when absent, ``ChecksumError`` when it differs from its pin."""
    c = card(name)
    if not c.weights.bundled:
        return cache.require(c, cache_dir)
    path = bundled_weights(c)
    if cache.sha256_of(path) != c.weights.sha256:
        raise ChecksumError(f"{path}: bundled weights differ from the model card's SHA-256")
    return path


def _loader(c: ModelCard) -> Callable[[ModelCard, Path], Any]:
    """The card's backend: (card, weights path) -> a loaded model."""
    loader: Callable[[ModelCard, Path], Any] = parts.image_backends.get(c.backend)
    return loader


def validator(name: str) -> Callable[[Path], None]:
    """Checks that a file is this model's weights by building the network from
    it; used by ``pull``/``import`` before a file is installed and pinned."""
    c = card(name)

    def check(path: Path) -> None:
        _loader(c)(c, path)

    return check


def _load(name: str, runtime: str | None, cache_dir: Path | None) -> Any:
    c = card(name)
    rt = parts.image_runtimes.resolve(runtime or c.runtime)
    path = weights_path(name, cache_dir)
    key = (name, rt, str(path))
    with _lock:
        if key not in _loaded:
            model = _loader(c)(c, path)
            if c.task is Task.CLASSIFICATION:
                model = parts.image_runtimes.get(rt)(model)
            _loaded[key] = model
        return _loaded[key]


def get(name: str, *, runtime: str | None = None, cache_dir: Path | None = None) -> ImageModel:
    """A loaded classifier (cached per process), served by ``runtime`` (a name in
    ``radpilot.registry.image_runtimes``; default: the card's). Unknown name →
    ``InputError`` listing the valid ones; weights not installed →
    ``ModelNotAvailableError``."""
    c = card(name)
    if c.task is not Task.CLASSIFICATION:
        raise InputError(
            f"{name!r} is a {c.task.value} model; use registry.segmenter({name!r}); "
            f"classifiers: {', '.join(names(Task.CLASSIFICATION))}"
        )
    model: ImageModel = _load(name, runtime, cache_dir)
    return model


def segmenter(name: str, *, cache_dir: Path | None = None) -> AnatomySegmenter:
    """A loaded anatomy segmentation model (for the cardiothoracic ratio)."""
    c = card(name)
    if c.task is not Task.SEGMENTATION:
        raise InputError(
            f"{name!r} is not a segmentation model; segmentation models: "
            f"{', '.join(names(Task.SEGMENTATION))}"
        )
    seg: AnatomySegmenter = _load(name, None, cache_dir)
    return seg


def clear_loaded() -> None:
    """Forget loaded models (tests that install weights into a temporary cache)."""
    with _lock:
        _loaded.clear()
