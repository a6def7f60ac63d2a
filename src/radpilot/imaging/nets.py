"""Network architectures radpilot trains itself (imports torch: load lazily).

``PneumoniaNet`` is the embedded demonstration model: a compact VGG-style CNN
for 28x28 single-channel inputs. Its last convolutional block is named
``features.block3`` so Grad-CAM can hook it by the name in the model card.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class PneumoniaNet(nn.Module):
    """28x28 -> one logit (pneumonia). ``width`` channels in the first block,
    doubled per block; about 0.29 M parameters at width 32."""

    def __init__(self, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            OrderedDict(
                block1=nn.Sequential(*_conv(1, w), *_conv(w, w)),
                pool1=nn.MaxPool2d(2),  # 14x14
                block2=nn.Sequential(*_conv(w, 2 * w), *_conv(2 * w, 2 * w)),
                pool2=nn.MaxPool2d(2),  # 7x7
                block3=nn.Sequential(*_conv(2 * w, 4 * w), *_conv(4 * w, 4 * w)),
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.fc(self.dropout(x))


class Ensemble(nn.Module):
    """Averages the logits of several members (same architecture, different seeds).

    Grad-CAM hooks one named layer per member (``members.<i>.<layer>``) and
    averages the maps, so the saliency belongs to the same score we report."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members], dim=0).mean(dim=0)
