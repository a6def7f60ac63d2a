"""The language-model flags every workflow command shares (``--llm`` and friends)."""

from __future__ import annotations

from pathlib import Path

import typer

LLM = typer.Option(
    None,
    "--llm",
    help="Language-model backend (registry llm_backends): openai-compatible or llama-cpp. "
    "Optional: without it radpilot uses no language model.",
)
LLM_URL = typer.Option(
    None, "--llm-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434 (Ollama)."
)
LLM_MODEL = typer.Option(
    None, "--llm-model", help="Model name on the server, or a GGUF file for llama-cpp."
)
LLM_CONFIG = typer.Option(
    None,
    "--llm-config",
    help="JSON/YAML file: backend, base_url, model, api_key_env, timeout_s, n_ctx, vision.",
)


def llm_config(
    name: str | None, url: str | None, model: str | None, config: Path | None
) -> object | None:
    from radpilot.workflow.llm import config_from

    return config_from(name, url=url, model=model, config=config)
