"""Language models for the workflow: one small Protocol, a validated configuration, and the
backends of ``radpilot.registry.llm_backends`` (``openai-compatible.v1``: any
OpenAI-compatible HTTP endpoint; ``llama-cpp.v1``: a local GGUF model).

A model is never required and never trusted: callers check what it says
(:func:`radpilot.workflow.draft.checked` reads a polished draft back;
:mod:`radpilot.workflow.cite` verifies citations). Nothing here touches the network or
loads a model until :func:`open_model` is called.

>>> cfg = LLMConfig(backend="openai-compatible", base_url="http://127.0.0.1:9", model="m")
>>> cfg.backend
'openai-compatible'
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import Field

from radpilot import registry
from radpilot.datafiles import DataModel, load_path
from radpilot.errors import InputError, RadpilotError

# A chat message as OpenAI-compatible servers take it: {"role": ..., "content": str | parts}.
Message = dict[str, Any]


class LLMError(RadpilotError):
    """A language model that cannot be reached, loaded or understood (one line, no text)."""


@runtime_checkable
class ChatModel(Protocol):
    """What every backend offers: one chat completion, text in, text out."""

    name: str  # the registry name it was opened as, e.g. "openai-compatible.v1"

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float
    ) -> str: ...

    def close(self) -> None: ...


class LLMConfig(DataModel):
    """A language-model configuration (a JSON/YAML file for ``--llm-config``, or flags)."""

    backend: str = Field(description="llm_backends name: openai-compatible or llama-cpp.")
    base_url: str | None = Field(
        None, description="OpenAI-compatible server, e.g. http://127.0.0.1:11434"
    )
    model: str | None = Field(None, description="Model name the server knows, or a GGUF path.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (never the key)."
    )
    timeout_s: float = Field(60.0, gt=0, le=3600)
    connect_timeout_s: float = Field(5.0, gt=0, le=600)
    n_ctx: int = Field(2048, ge=256, le=131072, description="llama-cpp context length.")
    threads: int | None = Field(None, ge=1, le=256, description="llama-cpp CPU threads.")
    chat_format: str | None = Field(
        None, description="llama-cpp chat format (e.g. gemma) when the GGUF names none."
    )
    max_tokens: int | None = Field(None, ge=1, le=8192, description="Cap on each prompt's own.")
    vision: bool = Field(False, description="The model accepts images (data-URL content parts).")


def load_config(path: Path) -> LLMConfig:
    return load_path(path, LLMConfig)


def config_from(
    name: str | None,
    *,
    url: str | None = None,
    model: str | None = None,
    config: Path | None = None,
) -> LLMConfig | None:
    """The configuration the flags ask for (``--llm``, ``--llm-url``, ``--llm-model``,
    ``--llm-config``), or None when no language model is asked for. Flags override the
    file's values."""
    if name is None and url is None and model is None and config is None:
        return None
    base = load_config(config) if config is not None else None
    values: dict[str, Any] = base.model_dump() if base is not None else {}
    if name is not None:
        values["backend"] = name
    if url is not None:
        values["base_url"] = url
    if model is not None:
        values["model"] = model
    if "backend" not in values:
        values["backend"] = "openai-compatible" if values.get("base_url") else "llama-cpp"
    return LLMConfig(**values)


def open_model(config: LLMConfig) -> ChatModel:
    """The backend ``config.backend`` names, opened (an unknown name lists the valid)."""
    opener = registry.llm_backends.get(config.backend)
    full = registry.llm_backends.resolve(config.backend)
    model: ChatModel = opener(config, name=full)
    return model


def image_part(path: Path) -> dict[str, Any]:
    """An image as an OpenAI-style content part (a data URL), for vision-language models."""
    kind, _ = mimetypes.guess_type(path.name)
    if kind not in ("image/png", "image/jpeg"):
        raise InputError(f"{path}: the image for a language model must be PNG or JPEG")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    url = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def chat(system: str, user: str, *, image: Path | None = None) -> list[Message]:
    """System and user messages; with ``image`` the user content is text + image parts."""
    content: Any = user
    if image is not None:
        content = [{"type": "text", "text": user}, image_part(image)]
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def ask_model(
    model: ChatModel,
    prompt_name: str,
    *,
    image: Path | None = None,
    cap: int | None = None,
    **fields: str,
) -> str:
    """Fill a prompt of ``prompts.json`` and return the model's reply."""
    from radpilot.workflow.rules import prompts

    prompt = prompts().get(prompt_name)
    try:
        user = prompt.user.format(**fields)
    except (KeyError, IndexError) as exc:
        raise LLMError(f"prompt {prompt_name!r}: template field {exc} is not given") from None
    tokens = min(prompt.max_tokens, cap) if cap else prompt.max_tokens
    return model.complete(
        chat(prompt.system, user, image=image), max_tokens=tokens, temperature=prompt.temperature
    )
