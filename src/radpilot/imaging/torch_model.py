"""A card-driven ``ImageModel`` around any torch network that maps a batch
(N, 1, S, S) to per-label logits. The embedded CNN and the torchxrayvision
classifiers are both served by this class. Imports torch: load lazily."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from radpilot.errors import InputError
from radpilot.imaging import preprocess
from radpilot.imaging.gradcam import grad_cam
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.model_card import ModelCard

log = logging.getLogger(__name__)


def batch_size(input_size: int) -> int:
    """Images per forward pass: about as many pixels as 8 images at 224 px, so
    peak memory stays flat on large studies (a 512 px batch of 2, a 28 px batch
    of 256)."""
    return int(min(256, max(2, 8 * (224 / input_size) ** 2)))


class TorchImageModel:
    """Probabilities are ``sigmoid(logit)``; with ``tta_flip`` the logits are the
    mean over the image and its horizontal mirror, and the heatmap is the mean
    of both Grad-CAM maps (the mirrored one flipped back)."""

    def __init__(self, card: ModelCard, net: nn.Module) -> None:
        self.card = card
        self.net = net.eval()
        outputs = card.output_labels
        self.columns = [outputs.index(label) for label in card.labels]
        # Grad-CAM hooks the shared network: one saliency computation at a time.
        self._cam_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def labels(self) -> Sequence[str]:
        return tuple(self.card.labels)

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.card.thresholds)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.card.preprocessing.tta_flip:
            out = (out + self.net(torch.flip(x, dims=[3]))) / 2
        return out

    def predict_tensor(self, x: torch.Tensor) -> np.ndarray:
        """Probabilities for an already preprocessed batch (N, 1, S, S)."""
        outs = []
        step = batch_size(self.card.preprocessing.input_size)
        with torch.inference_mode():
            for i in range(0, x.shape[0], step):
                logits = self.logits(x[i : i + step])[:, self.columns]
                outs.append(torch.sigmoid(logits).numpy())
        if not outs:
            return np.zeros((0, len(self.card.labels)), dtype=np.float32)
        return np.concatenate(outs).astype(np.float32)

    def predict(self, images: Sequence[Radiograph]) -> np.ndarray:
        prep = self.card.preprocessing
        step = batch_size(prep.input_size)
        outs = [
            self.predict_tensor(preprocess.to_batch(images[i : i + step], prep))
            for i in range(0, len(images), step)
        ]
        if not outs:
            return np.zeros((0, len(self.card.labels)), dtype=np.float32)
        log.debug("%s: predicted %d image(s)", self.name, len(images))
        return np.concatenate(outs)

    def heatmap(self, image: Radiograph, label: str) -> np.ndarray:
        if label not in self.card.labels:
            raise InputError(
                f"model {self.name!r} has no label {label!r}; labels: {', '.join(self.card.labels)}"
            )
        index = self.card.output_labels.index(label)
        prep = self.card.preprocessing
        x = preprocess.to_input(image, prep)[None]
        layers = self.card.gradcam_layers
        with self._cam_lock:
            cam = grad_cam(self.net, x, layers, index)
            if prep.tta_flip:
                mirrored = grad_cam(self.net, torch.flip(x, dims=[3]), layers, index)
                cam = (cam + mirrored[:, ::-1]) / 2
                peak = float(cam.max())
                cam = cam / peak if peak > 0 else cam
        return preprocess.to_image_shape(cam, image.pixels.shape, prep.crop)


def as_torch(model: TorchImageModel) -> TorchImageModel:
    """The ``torch.v1`` image runtime: the torch network serves its own predictions."""
    return model
