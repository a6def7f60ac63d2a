"""The embedded demonstration model (PneumoniaMNIST CNN ensemble): build the
network from its state dict and wrap it as an ``ImageModel``.
Imports torch: load lazily (``radpilot.imaging.registry`` does)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from radpilot.errors import ModelNotAvailableError
from radpilot.imaging.model_card import ModelCard
from radpilot.imaging.nets import Ensemble, PneumoniaNet
from radpilot.imaging.torch_model import TorchImageModel
from radpilot.imaging.weightsfile import load_state_dict

_MEMBER = re.compile(r"^members\.(\d+)\.")
_FIRST_CONV = "features.block1.0.weight"


def load_state(path: Path, *, what: str = "the embedded model") -> dict[str, torch.Tensor]:
    return load_state_dict(path, what=what)


def build_ensemble(state: dict[str, torch.Tensor]) -> Ensemble:
    """The ensemble the state dict describes: member count from the keys, width
    from the first convolution's shape."""
    members = sorted({int(m.group(1)) for k in state if (m := _MEMBER.match(k))})
    if not members or members != list(range(len(members))):
        raise ModelNotAvailableError("not a PneumoniaNet ensemble state dict")
    conv = state.get(f"members.0.{_FIRST_CONV}")
    if conv is None:
        raise ModelNotAvailableError(f"no members.0.{_FIRST_CONV}")
    width = int(conv.shape[0])
    net = Ensemble([PneumoniaNet(width=width) for _ in members])
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelNotAvailableError(
            f"PneumoniaNet ensemble: {str(exc).splitlines()[0][:160]}"
        ) from None
    return net


def load(card: ModelCard, weights: Path) -> TorchImageModel:
    """The ``embedded-cnn`` image backend."""
    state = load_state(weights, what=card.name)
    try:
        net = build_ensemble(state)
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(f"{weights}: weights do not fit {card.name} ({exc})") from None
    return TorchImageModel(card, net.eval())
