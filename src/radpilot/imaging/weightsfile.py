"""Reading torch weights files safely, with one line when a file is not one.

Every weights file radpilot reads goes through :func:`torch_load`: ``weights_only=True``
(the restricted unpickler), optionally with an explicit allow-list of classes. When a
file is refused, torch's own message is a paragraph that ends by suggesting to retry
with ``weights_only=False`` -- advice that would run arbitrary code from a file nobody
has vetted. That advice is never passed on: the error is one line saying the file is
not a valid weights file for the model, and why, in radpilot's words. Imports torch:
load lazily.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from radpilot.errors import ModelNotAvailableError

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def why_refused(exc: BaseException, head: bytes = b"") -> str:
    """radpilot's reason for a refused file (``head``: its first bytes): what kind of file
    it is, never what to change in the loader."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    found = _GLOBAL.search(text)
    if found:
        return f"it holds Python objects other than tensors ({found.group(1)})"
    if head.startswith(b"\x80") and ("Unsupported operand" in text or "Unsupported class" in text):
        return "a Python pickle, not a PyTorch weights file"
    if isinstance(exc, EOFError) or "Ran out of input" in text:
        return "the file is empty or truncated"
    if "PytorchStreamReader" in text or "zip archive" in text or "inline_container" in text:
        return "not a PyTorch weights archive (a different or damaged zip file)"
    if isinstance(exc, KeyError) or "invalid load key" in text or "Unsupported operand" in text:
        return "not a PyTorch file"
    return f"unreadable ({type(exc).__name__})"


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(8)
    except OSError:
        return b""


def torch_load(path: Path, *, what: str, safe: Sequence[Any] = ()) -> Any:
    """``torch.load(path, weights_only=True)``; ``safe``: classes the restricted
    unpickler may rebuild. A refused or unreadable file raises
    ``ModelNotAvailableError``: one line naming the file and ``what``."""
    try:
        with torch.serialization.safe_globals(list(safe)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelNotAvailableError(f"{path}: no such weights file for {what}") from None
    except Exception as exc:  # torch raises many types for a foreign or corrupt file
        raise ModelNotAvailableError(
            f"{path}: not a valid weights file for {what} ({why_refused(exc, _head(path))})"
        ) from None


def load_state_dict(path: Path, *, what: str) -> dict[str, torch.Tensor]:
    """A plain state dict (name -> tensor) from ``path``."""
    state = torch_load(path, what=what)
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelNotAvailableError(
            f"{path}: not a valid weights file for {what} (not a state dict of named tensors)"
        )
    return dict(state)
