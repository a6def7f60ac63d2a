"""torchxrayvision classifiers (DenseNet-121 at 224 px, ResNet-50 at 512 px)
built from torchxrayvision's architectures WITHOUT its downloader: the network
is constructed with ``weights=None`` and the state dict comes from radpilot's
cache (``radpilot models pull/import``). Imports torch: load lazily.

torchxrayvision publishes DenseNet weights as a whole pickled module and the
ResNet weights as a state dict. Both are read with ``torch.load(...,
weights_only=True)``; for the pickled module the restricted unpickler is told
exactly which layer classes it may rebuild (``_SAFE_MODULES``), nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from radpilot.errors import ModelNotAvailableError
from radpilot.imaging.model_card import ModelCard
from radpilot.imaging.torch_model import TorchImageModel
from radpilot.imaging.weightsfile import torch_load


def _safe_modules() -> list[Any]:
    import torchxrayvision as xrv

    return [
        xrv.models.DenseNet,
        xrv.models._DenseLayer,
        xrv.models._DenseBlock,
        xrv.models._Transition,
        nn.Conv2d,
        nn.BatchNorm2d,
        nn.ReLU,
        nn.MaxPool2d,
        nn.AvgPool2d,
        nn.Linear,
        nn.Sequential,
        nn.ModuleDict,
        set,
    ]


def _tensors_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of an unpickled module, read from each
    submodule's own dicts: modules pickled by old torch versions lack attributes
    that ``state_dict()`` needs."""
    state: dict[str, torch.Tensor] = {}
    for prefix, mod in module.named_modules():
        own = {**vars(mod).get("_parameters", {}), **vars(mod).get("_buffers", {})}
        skip = vars(mod).get("_non_persistent_buffers_set", set())
        for key, value in own.items():
            if value is not None and key not in skip:
                state[f"{prefix}.{key}" if prefix else key] = value.detach()
    return state


def read_state_dict(path: Path, *, what: str) -> dict[str, torch.Tensor]:
    """A state dict from a weights file: a plain state dict (optionally with a
    ``state_dict`` wrapper or DataParallel ``module.`` prefixes) or a pickled
    torchxrayvision module. ``what``: the model's name, for the error line."""
    obj = torch_load(path, what=what, safe=_safe_modules())
    if isinstance(obj, nn.Module):
        return _tensors_of(obj)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelNotAvailableError(
            f"{path}: not a valid weights file for {what} (not a torch state dict or module)"
        )
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return dict(obj)


def build_densenet(card: ModelCard) -> nn.Module:
    """torchxrayvision's DenseNet-121, untrained (no weights, no network access)."""
    import torchxrayvision as xrv

    # weights=None: torchxrayvision neither downloads nor adds its resize hook.
    return xrv.models.DenseNet(weights=None, num_classes=len(card.output_labels), op_threshs=None)


def build_resnet(card: ModelCard) -> nn.Module:
    """torchxrayvision's ResNet-50 (torchvision's, one-channel stem), untrained."""
    import torchvision

    # torchxrayvision's ResNet is torchvision's with a one-channel stem (models.py);
    # its constructor always downloads, so the same network is built here.
    net = torchvision.models.resnet50(num_classes=len(card.output_labels), weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return net


def load_network(card: ModelCard, path: Path, build: Callable[[ModelCard], nn.Module]) -> nn.Module:
    net = build(card)
    state = read_state_dict(path, what=card.name)
    # op_threshs is a buffer in torchxrayvision's DenseNet; radpilot applies the
    # card's thresholds itself and wants raw logits, so it is dropped here.
    state.pop("op_threshs", None)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise ModelNotAvailableError(
            f"{path}: weights do not fit {card.name} ({card.architecture.split(' (')[0]}: "
            f"{detail[:160]})"
        ) from None
    return net.eval()


def load_densenet(card: ModelCard, path: Path) -> TorchImageModel:
    """The ``xrv-densenet`` image backend."""
    return TorchImageModel(card, load_network(card, path, build_densenet))


def load_resnet(card: ModelCard, path: Path) -> TorchImageModel:
    """The ``xrv-resnet`` image backend."""
    return TorchImageModel(card, load_network(card, path, build_resnet))
