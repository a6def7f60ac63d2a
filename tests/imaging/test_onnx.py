"""ONNX Runtime backend: same scores as torch, heatmaps from torch."""

from __future__ import annotations

import numpy as np
import pytest

from radpilot import samples
from radpilot.imaging import registry
from radpilot.imaging.model_api import ImageMeta, ImageModel, Radiograph


@pytest.fixture(scope="module")
def images() -> list[Radiograph]:
    data = np.load(samples.get("pneumoniamnist_test.npz"))
    picks = list(data["test_images"][:40].astype(np.float32) / 255.0)
    picks.append(np.random.default_rng(0).random((90, 70), dtype=np.float32))  # any size
    return [Radiograph(p, ImageMeta(f"{i}.png", "png")) for i, p in enumerate(picks)]


def test_onnx_matches_torch(images: list[Radiograph]) -> None:
    torch_model = registry.get(registry.DEFAULT_MODEL, runtime="torch")
    onnx_model = registry.get(registry.DEFAULT_MODEL, runtime="onnx")
    assert isinstance(onnx_model, ImageModel)
    assert onnx_model is not torch_model
    assert onnx_model.labels == torch_model.labels
    assert onnx_model.thresholds == torch_model.thresholds
    np.testing.assert_allclose(
        onnx_model.predict(images), torch_model.predict(images), rtol=0, atol=1e-5
    )
    assert onnx_model.predict([]).shape == (0, 1)
    np.testing.assert_array_equal(
        onnx_model.heatmap(images[-1], "Pneumonia"), torch_model.heatmap(images[-1], "Pneumonia")
    )


def test_unknown_runtime_is_refused() -> None:
    from radpilot.errors import RegistryError

    with pytest.raises(RegistryError) as info:
        registry.get(registry.DEFAULT_MODEL, runtime="tensorrt")
    assert str(info.value) == "no image runtime named 'tensorrt'; valid: onnx.v1, torch.v1"
