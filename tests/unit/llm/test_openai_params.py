"""The openai-compatible provider's pure parts: messages, usage, stop reasons, the factory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types import CompletionUsage
from openai.types.completion_usage import PromptTokensDetails
from pydantic import SecretStr

from mge.config import Settings
from mge.llm.base import LLMRequest
from mge.llm.factory import make_provider
from mge.llm.openai_provider import (
    API_KEY_ENV,
    OpenAICompatibleProvider,
    chat_messages,
    usage_from_body,
)
from mge.models.project import LLMSpec


def test_system_blocks_become_one_system_message_before_the_prompt() -> None:
    r = LLMRequest(key="k", system=("rules", "skeleton"), prompt="write f")
    assert chat_messages(r) == [
        {"role": "system", "content": "rules\n\nskeleton"},
        {"role": "user", "content": "write f"},
    ]


def test_no_system_blocks_no_system_message() -> None:
    assert chat_messages(LLMRequest(key="k", prompt="p")) == [{"role": "user", "content": "p"}]


@given(prompt=st.integers(0, 10**7), cached=st.integers(0, 10**7), out=st.integers(0, 10**6))
def test_cached_prompt_tokens_are_split_off_and_nothing_is_lost(
    prompt: int, cached: int, out: int
) -> None:
    cached = min(cached, prompt)
    usage = CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=out,
        total_tokens=prompt + out,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached),
    )
    u = usage_from_body(usage)
    assert u.input_tokens + u.cache_read_tokens == prompt
    assert (u.cache_read_tokens, u.output_tokens, u.cache_write_tokens) == (cached, out, 0)


def test_a_server_without_usage_counts_zero() -> None:
    assert usage_from_body(None).input_tokens == 0


async def test_the_repr_shows_model_and_url_but_not_the_key() -> None:
    p = OpenAICompatibleProvider(
        model="m", base_url="http://127.0.0.1:9/v1", api_key=SecretStr("sk-secret-123")
    )
    try:
        assert "sk-secret-123" not in repr(p) and "'m'" in repr(p)
        assert p.base_url.startswith("http://127.0.0.1:9/v1")
    finally:
        await p.aclose()


async def test_the_factory_reads_the_optional_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(API_KEY_ENV, "sk-from-env")
    spec = LLMSpec(provider="openai-compatible", model="llama3", base_url="http://127.0.0.1:9/v1")
    p = make_provider(spec, Settings(llm_max_retries=1))
    assert isinstance(p, OpenAICompatibleProvider)
    try:
        assert p._api_key.get_secret_value() == "sk-from-env"
        assert p._sdk.max_retries == 1
    finally:
        await p.aclose()
