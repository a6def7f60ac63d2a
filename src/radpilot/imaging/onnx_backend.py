"""ONNX Runtime inference for any card-driven torch classifier.

The torch network (with the card's test-time flip, if any) is exported to
ONNX in memory and run by ONNX Runtime on the CPU. Scores come from ONNX
Runtime; Grad-CAM needs gradients, so ``heatmap`` runs on the torch network,
which holds the same weights. Imports torch and onnxruntime: load lazily.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from radpilot.errors import ModelNotAvailableError
from radpilot.imaging import preprocess
from radpilot.imaging.model_api import Radiograph
from radpilot.imaging.model_card import ModelCard
from radpilot.imaging.torch_model import TorchImageModel

log = logging.getLogger(__name__)

OPSET = 17


class _Logits(nn.Module):
    def __init__(self, model: TorchImageModel) -> None:
        super().__init__()
        self.net = model.net
        self.tta_flip = model.card.preprocessing.tta_flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        if self.tta_flip:
            out = (out + self.net(torch.flip(x, dims=[3]))) / 2
        return out


def export_bytes(model: TorchImageModel) -> bytes:
    """The model's logits graph as ONNX bytes, with a dynamic batch axis."""
    size = model.card.preprocessing.input_size
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export, but it is
        # the one that handles these plain CNNs quickly and without extra tracing deps.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model).eval(),
            (torch.zeros(1, 1, size, size),),
            buf,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()


class OnnxImageModel:
    def __init__(self, torch_model: TorchImageModel, session: Any) -> None:
        self.torch_model = torch_model
        self.session = session

    @classmethod
    def from_torch(cls, model: TorchImageModel, *, threads: int | None = None) -> OnnxImageModel:
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - imaging extra always has it
            raise ModelNotAvailableError(
                "onnxruntime is not installed; pip install 'radpilot[imaging]'"
            ) from None
        opts = ort.SessionOptions()
        # Match torch's thread count so the two runtimes compete on equal terms.
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(
            export_bytes(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        log.debug("%s: exported to ONNX (opset %d)", model.name, OPSET)
        return cls(model, session)

    @property
    def card(self) -> ModelCard:
        return self.torch_model.card

    @property
    def name(self) -> str:
        return self.torch_model.name

    @property
    def labels(self) -> Sequence[str]:
        return self.torch_model.labels

    @property
    def thresholds(self) -> dict[str, float]:
        return self.torch_model.thresholds

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for an already preprocessed float32 batch (N, 1, S, S)."""
        if x.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        (logits,) = self.session.run(["logits"], {"image": np.ascontiguousarray(x, np.float32)})
        logits = logits[:, self.torch_model.columns]
        # Stable sigmoid: exp of a large negative logit would overflow.
        z = np.exp(-np.abs(logits))
        return np.where(logits >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(np.float32)

    def predict(self, images: Sequence[Radiograph]) -> np.ndarray:
        batch = preprocess.to_batch(images, self.card.preprocessing).numpy()
        return self.predict_array(batch)

    def heatmap(self, image: Radiograph, label: str) -> np.ndarray:
        return self.torch_model.heatmap(image, label)


def from_torch(model: TorchImageModel) -> OnnxImageModel:
    """The ``onnx.v1`` image runtime: the network exported to ONNX Runtime (scores);
    Grad-CAM still runs on the torch network."""
    return OnnxImageModel.from_torch(model)
