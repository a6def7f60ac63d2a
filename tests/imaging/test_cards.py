"""Model cards: every shipped card validates; the strict loader rejects what
is wrong and says which field (and, for unknown keys, the allowed ones)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from radpilot.errors import VocabularyError
from radpilot.imaging import cache, registry
from radpilot.imaging.model_card import Task, card_names, parse_card


def _raw(name: str) -> dict[str, Any]:
    text = (resources.files("radpilot.imaging") / "cards" / f"{name}.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.mark.parametrize("name", card_names())
def test_shipped_cards_validate(name: str) -> None:
    card = registry.card(name)
    assert card.name == name
    assert card.intended_use and card.limitations and card.training_data
    if card.task is Task.CLASSIFICATION:
        assert card.gradcam_layers
    if not card.accuracy_measured_here:
        assert not card.measured
        assert any("NOT measured" in lim for lim in card.limitations)


def test_embedded_card_says_demonstration_and_bundled_weights_match() -> None:
    card = registry.card(registry.DEFAULT_MODEL)
    assert "NOT FOR CLINICAL USE" in card.intended_use
    assert "28x28" in card.preprocessing.description
    assert card.labels == ["Pneumonia"]
    path = registry.weights_path(registry.DEFAULT_MODEL)
    assert cache.sha256_of(path) == card.weights.sha256
    assert path.stat().st_size == card.weights.bytes
    assert any(f.metric == "auc" and f.split == "test" for f in card.measured)


@pytest.mark.parametrize(
    ("name", "xrv_key"),
    [
        ("densenet121-res224-all", "densenet121-res224-all"),
        ("resnet50-res512-all", "resnet50-res512-all"),
    ],
)
def test_xrv_cards_match_torchxrayvision(name: str, xrv_key: str) -> None:
    import math

    import torchxrayvision as xrv

    published = xrv.models.model_urls[xrv_key]
    card = registry.card(name)
    assert card.weights.url == published["weights_url"]
    assert card.output_labels == published["labels"]
    # Reported labels: the published ones that have an operating point, in order.
    assert card.labels == [
        lb for lb, t in zip(published["labels"], published["op_threshs"], strict=True)
        if not math.isnan(t)
    ]  # fmt: skip
    for label, thr in zip(published["labels"], published["op_threshs"], strict=True):
        if math.isnan(thr):
            assert label not in card.thresholds
        else:
            assert card.thresholds[label] == pytest.approx(float(thr))


def _edit(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw(registry.DEFAULT_MODEL))
    keys = path.split(".")
    target = data
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", "blue", "colour: unknown key; allowed: $schema, accuracy_measured_here"),
        ("preprocessing.size", 28, "preprocessing.size: unknown key; allowed: crop, description"),
        ("weights.md5", "x", "weights.md5: unknown key; allowed: bundled, bytes, file, format"),
        ("measured.0.p", 0.1, "measured[0].p: unknown key; allowed: ci_high, ci_low, dataset"),
        ("task", "detection", "task: Input should be 'classification' or 'segmentation'"),
        ("preprocessing.normalization", "zscore", "preprocessing.normalization: Input should be"),
        ("backend", "xrv-vit", "backend: 'xrv-vit' is not registered; registered: embedded-cnn.v1"),
        ("runtime", "tensorrt", "runtime: 'tensorrt' is not registered; registered: onnx.v1"),
        ("thresholds", {"Pneumonia": 1.5}, "thresholds must lie in [0, 1]"),
        ("thresholds", {"Edema": 0.5}, "thresholds for labels not in 'labels'"),
        ("thresholds", {}, "every label needs a threshold; missing: ['Pneumonia']"),
        ("outputs", ["Edema"], "'outputs' must be unique and hold every label"),
        ("labels", ["Pneumonia", "Pneumonia"], "labels must be unique"),
        ("weights.sha256", "abc", "64 lowercase hex"),
        ("weights.sha256", None, "bundled weights must pin"),
        ("name", "other", "name: is 'other', the file says 'pneumoniamnist-v1'"),
        ("labels", _DELETE, "labels: missing key"),
    ],
)
def test_invalid_cards_are_rejected(path: str, value: Any, message: str) -> None:
    with pytest.raises(VocabularyError) as info:
        parse_card(registry.DEFAULT_MODEL, _edit(path, value))
    where = f"radpilot/imaging/cards/{registry.DEFAULT_MODEL}.json: "
    assert str(info.value).startswith(where) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_card_names_its_backend_and_runtime_by_registry_name() -> None:
    from radpilot import registry as parts

    for name in card_names():
        card = registry.card(name)
        assert card.backend in parts.image_backends.names()
        assert card.runtime in parts.image_runtimes.names()


def test_downloadable_weights_need_a_url() -> None:
    data = copy.deepcopy(_raw("densenet121-res224-all"))
    data["weights"]["url"] = None
    with pytest.raises(VocabularyError, match="need a url"):
        parse_card("densenet121-res224-all", data)
