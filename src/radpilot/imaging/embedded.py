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

_MEMBER = re.compile(r"^members\.(\d+)\.")
_FIRST_CONV = "features.block1.0.weight"


def load_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise ModelNotAvailableError(
            f"weights file {path} cannot be read ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelNotAvailableError(f"weights file {path} is not a torch state dict")
    return state


def build_ensemble(state: dict[str, torch.Tensor]) -> Ensemble:
    """The ensemble the state dict describes: member count from the keys, width
    from the first convolution's shape."""
    members = sorted({int(m.group(1)) for k in state if (m := _MEMBER.match(k))})
    if not members or members != list(range(len(members))):
        raise ModelNotAvailableError("weights are not a PneumoniaNet ensemble state dict")
    conv = state.get(f"members.0.{_FIRST_CONV}")
    if conv is None:
        raise ModelNotAvailableError(f"weights lack members.0.{_FIRST_CONV}")
    width = int(conv.shape[0])
    net = Ensemble([PneumoniaNet(width=width) for _ in members])
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelNotAvailableError(
            f"weights do not fit the PneumoniaNet ensemble: {str(exc).splitlines()[0]}"
        ) from None
    return net


def load(card: ModelCard, weights: Path) -> TorchImageModel:
    return TorchImageModel(card, build_ensemble(load_state(weights)).eval())
