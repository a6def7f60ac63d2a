"""The embedded model as shipped: its weights reproduce the card's measured
test AUC on the shipped PneumoniaMNIST test split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from radpilot import samples
from radpilot.errors import InputError
from radpilot.imaging import embedded, registry
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph


def _radiograph(pixels: np.ndarray, path: str = "x.png") -> Radiograph:
    return Radiograph(pixels=pixels, meta=ImageMeta(path=path, source_format="png"))


@pytest.fixture(scope="module")
def model() -> ImageModel:
    return registry.get(registry.DEFAULT_MODEL)


@pytest.fixture(scope="module")
def test_split() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(samples.get("pneumoniamnist_test.npz"))
    return data["test_images"], data["test_labels"].reshape(-1)


def test_is_an_image_model(model: ImageModel) -> None:
    assert isinstance(model, ImageModel)
    assert model.name == "pneumoniamnist-v1"
    assert list(model.labels) == ["Pneumonia"]
    assert 0.0 < model.thresholds["Pneumonia"] < 1.0


def test_shipped_test_split_is_the_official_one(test_split: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = test_split
    assert images.shape == (624, 28, 28) and images.dtype == np.uint8
    assert int(labels.sum()) == 390  # 390 pneumonia, 234 normal


def test_weights_reproduce_card_auc(
    model: ImageModel, test_split: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = test_split
    probs = model.predict([_radiograph(im.astype(np.float32) / 255.0) for im in images])
    assert probs.shape == (624, 1)
    assert np.all((probs >= 0) & (probs <= 1))
    card = registry.card(registry.DEFAULT_MODEL)
    (card_auc,) = [f.value for f in card.measured if f.metric == "auc" and f.split == "test"]
    assert abs(roc_auc_score(labels, probs[:, 0]) - card_auc) < 1e-3
    accuracy = [f.value for f in card.measured if f.metric == "accuracy" and f.split == "test"]
    threshold = card.thresholds["Pneumonia"]
    for acc in accuracy:
        assert abs(np.mean((probs[:, 0] >= threshold) == (labels == 1)) - acc) < 1e-3


@pytest.mark.parametrize("shape", [(28, 28), (64, 48), (300, 200), (17, 90)])
def test_any_size_image_gives_probability_and_full_size_heatmap(
    model: ImageModel, shape: tuple[int, int]
) -> None:
    rng = np.random.default_rng(0)
    image = _radiograph(rng.random(shape, dtype=np.float32))
    probs = model.predict([image])
    assert probs.shape == (1, 1) and 0.0 <= probs[0, 0] <= 1.0
    heat = model.heatmap(image, "Pneumonia")
    assert heat.shape == shape and heat.dtype == np.float32
    assert 0.0 <= heat.min() and heat.max() <= 1.0


def test_empty_batch(model: ImageModel) -> None:
    assert model.predict([]).shape == (0, 1)


def test_batched_equals_single(
    model: ImageModel, test_split: tuple[np.ndarray, np.ndarray]
) -> None:
    images = [_radiograph(im.astype(np.float32) / 255.0) for im in test_split[0][:20]]
    together = model.predict(images)
    alone = np.concatenate([model.predict([im]) for im in images])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        (np.zeros((28, 28, 3), dtype=np.float32), "2-D"),
        (np.full((28, 28), 2.0, dtype=np.float32), r"\[0, 1\]"),
        (np.full((28, 28), np.nan, dtype=np.float32), "NaN"),
        (np.zeros((28, 28), dtype=np.uint8), "float"),
        (np.zeros((1, 28), dtype=np.float32), "too small"),
    ],
)
def test_bad_pixels_name_the_file(model: ImageModel, pixels: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        model.predict([_radiograph(pixels, path="bad/scan.png")])
    assert "bad/scan.png" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_label_for_heatmap(model: ImageModel) -> None:
    with pytest.raises(InputError, match="labels: Pneumonia"):
        model.heatmap(_radiograph(np.zeros((28, 28), dtype=np.float32)), "Edema")


def test_training_script_smoke(tmp_path: Path) -> None:
    """One epoch on 200 images: the script runs, seeds, writes loadable weights and
    a report whose threshold came from the validation split."""
    data = np.load(samples.get("pneumoniamnist_test.npz"))
    x, y = data["test_images"], data["test_labels"]
    npz = tmp_path / "tiny.npz"
    np.savez(
        npz, train_images=x[:300], train_labels=y[:300], val_images=x[300:460],
        val_labels=y[300:460], test_images=x[460:], test_labels=y[460:],
    )  # fmt: skip
    out, report = tmp_path / "w.pt", tmp_path / "r.json"
    script = Path(__file__).resolve().parents[2] / "training" / "train_pneumoniamnist.py"
    args = ["--data", str(npz), "--out", str(out), "--report", str(report)]
    args += ["--seeds", "0", "--epochs", "1", "--limit", "200", "--width", "8", "--threads", "1"]
    subprocess.run([sys.executable, str(script), *args], check=True, capture_output=True)
    result = json.loads(report.read_text())
    assert result["train_images"] == 200 and 0.0 < result["threshold"] < 1.0
    assert set(result["test"]) == {"auc", "accuracy", "sensitivity", "specificity"}
    net = embedded.build_ensemble(embedded.load_state(out))
    assert len(net.members) == 1
