"""Grad-CAM on named layers: a known-answer network, errors, and the shipped
embedded model's heatmaps."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from radpilot import samples
from radpilot.errors import VocabularyError
from radpilot.imaging import registry
from radpilot.imaging.gradcam import grad_cam
from radpilot.imaging.model_api import ImageMeta, Radiograph


class _TwoChannel(nn.Module):
    """Layer ``feat`` holds the image (channel 0) and its negative (channel 1),
    pooled 2x; output 0 is the sum of channel 0, output 1 minus that sum."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(1, 2, kernel_size=1)
        with torch.no_grad():
            conv.weight[:] = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
            conv.bias[:] = torch.tensor([0.0, 1.0])
        self.body = nn.Sequential(OrderedDict(conv=conv, feat=nn.AvgPool2d(2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.body(x)[:, 0].sum(dim=(1, 2))
        return torch.stack([s, -s], dim=1)


@pytest.mark.parametrize(("top", "left"), [(2, 2), (10, 20), (24, 4)])
def test_known_answer_follows_the_evidence(top: int, left: int) -> None:
    x = torch.zeros(1, 1, 32, 32)
    x[..., top : top + 6, left : left + 6] = 1.0
    cam = grad_cam(_TwoChannel(), x, ["body.feat"], 0)
    assert cam.shape == (32, 32) and cam.dtype == np.float32
    assert cam.max() == pytest.approx(1.0) and cam.min() >= 0.0
    y, xx = np.unravel_index(int(np.argmax(cam)), cam.shape)
    assert top <= y < top + 6 and left <= xx < left + 6
    assert cam[0 if top > 8 else 31, 0 if left > 8 else 31] == pytest.approx(0.0, abs=1e-6)


def test_evidence_against_gives_empty_map() -> None:
    x = torch.zeros(1, 1, 16, 16)
    x[..., 4:8, 4:8] = 1.0
    assert not grad_cam(_TwoChannel(), x, ["body.feat"], 1).any()


def test_frozen_parameters_work_and_keep_no_grad() -> None:
    net = _TwoChannel()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.zeros(1, 1, 16, 16)
    x[..., 0:4, 0:4] = 1.0
    assert grad_cam(net, x, ["body.feat"], 0)[1, 1] == pytest.approx(1.0)
    assert all(p.grad is None for p in net.parameters())


def test_training_mode_is_restored() -> None:
    net = _TwoChannel().train()
    grad_cam(net, torch.rand(1, 1, 8, 8), ["body.feat"], 0)
    assert net.training


@pytest.mark.parametrize(
    ("layers", "shape", "error"),
    [
        (["body.nope"], (1, 1, 8, 8), VocabularyError),
        (["body.feat"], (2, 1, 8, 8), ValueError),
        (["body.feat"], (1, 8, 8), ValueError),
    ],
)
def test_bad_requests(layers: list[str], shape: tuple[int, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        grad_cam(_TwoChannel(), torch.rand(*shape), layers, 0)


def test_embedded_model_heatmap_is_deterministic_and_local() -> None:
    model = registry.get(registry.DEFAULT_MODEL)
    data = np.load(samples.get("pneumoniamnist_test.npz"))
    pixels = data["test_images"][0].astype(np.float32) / 255.0
    big = np.kron(pixels, np.ones((8, 8), dtype=np.float32))  # 224 x 224, same content
    image = Radiograph(pixels=big, meta=ImageMeta("pm0.png", "png"))
    first = model.heatmap(image, "Pneumonia")
    second = model.heatmap(image, "Pneumonia")
    assert first.shape == (224, 224)
    np.testing.assert_array_equal(first, second)
    assert first.max() == pytest.approx(1.0, abs=1e-3)
    assert (first < 0.5).mean() > 0.2  # a region, not the whole image


def test_card_layers_exist_in_embedded_network() -> None:
    model = registry.get(registry.DEFAULT_MODEL)
    names = dict(model.net.named_modules())  # type: ignore[attr-defined]
    for layer in registry.card(registry.DEFAULT_MODEL).gradcam_layers:
        assert layer in names
