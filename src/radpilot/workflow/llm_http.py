"""``openai-compatible.v1``: any server speaking the OpenAI chat-completions API (Ollama,
vLLM, llama.cpp server, a hospital gateway): ``POST {base_url}/v1/chat/completions``.

Errors are one line naming the server and what went wrong (refused, timed out, HTTP
status, a reply without text), never the prompt or the reply.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx

from radpilot.workflow.llm import LLMConfig, LLMError, Message


def _endpoint(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return f"{base}/v1/chat/completions"


class OpenAICompatible:
    def __init__(self, config: LLMConfig, *, name: str) -> None:
        if not config.base_url:
            raise LLMError(f"{name}: no server URL; give --llm-url http://HOST:PORT")
        if not config.base_url.startswith(("http://", "https://")):
            raise LLMError(f"{name}: --llm-url must start with http:// or https://")
        self.name = name
        self.url = _endpoint(config.base_url)
        self.model = config.model or "default"
        self.cap = config.max_tokens
        headers = {"Content-Type": "application/json"}
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise LLMError(
                    f"{name}: environment variable {config.api_key_env} (api_key_env) is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = httpx.Client(headers=headers, timeout=timeout, trust_env=False)

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": min(max_tokens, self.cap) if self.cap else max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        where = f"{self.name} at {self.url}"
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise LLMError(f"{where}: timed out") from None
        except httpx.HTTPError as exc:
            raise LLMError(f"{where}: cannot connect ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise LLMError(f"{where}: HTTP {response.status_code}")
        try:
            text = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(f"{where}: the reply is not an OpenAI chat completion") from None
        if not isinstance(text, str):
            raise LLMError(f"{where}: the reply holds no text")
        return text

    def close(self) -> None:
        self._client.close()


def open_openai(config: LLMConfig, *, name: str) -> OpenAICompatible:
    return OpenAICompatible(config, name=name)
