"""The llamacpp provider with the real SmolLM2-135M model: wire-up, limits, concurrency.

Only what holds whatever the model says is asserted: an answer arrives, usage is counted, the
cap and the context bound hold, concurrent calls are served one at a time without error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mge.errors import LLMError
from mge.llm.base import LLMRequest
from mge.llm.llamacpp_provider import LlamaCppProvider, default_model_path

pytestmark = pytest.mark.local_model

SMALL_CTX = 512


@pytest.fixture
async def provider() -> AsyncIterator[LlamaCppProvider]:
    p = LlamaCppProvider(default_model_path(), n_ctx=SMALL_CTX)
    yield p
    await p.aclose()


REQUEST = LLMRequest(
    key="hello",
    system=("You write Python.",),
    prompt="Write a Python function add(a, b) that returns a + b.",
    temperature=0.0,
    max_tokens=64,
)


async def test_an_answer_with_usage_and_no_cost(provider: LlamaCppProvider) -> None:
    r = await provider.complete(REQUEST)
    assert (r.provider, r.model, r.cost_usd) == ("llamacpp", "SmolLM2-135M-Instruct.Q4_1", 0.0)
    assert r.usage.input_tokens > 10 and 0 < r.usage.output_tokens <= 64
    assert r.stop_reason in ("end_turn", "max_tokens")
    assert isinstance(r.text, str)


async def test_the_same_request_gives_the_same_answer(provider: LlamaCppProvider) -> None:
    a = await provider.complete(REQUEST)
    b = await provider.complete(REQUEST)
    assert a.text == b.text


async def test_the_output_cap_holds(provider: LlamaCppProvider) -> None:
    r = await provider.complete(REQUEST.model_copy(update={"max_tokens": 3}))
    assert r.usage.output_tokens <= 3 and r.stop_reason == "max_tokens"


async def test_a_prompt_beyond_the_context_window_is_an_llm_error(
    provider: LlamaCppProvider,
) -> None:
    long = LLMRequest(key="long", prompt="word " * (SMALL_CTX * 2), max_tokens=8)
    with pytest.raises(LLMError, match="n_ctx=512"):
        await provider.complete(long)


async def test_concurrent_calls_are_served_one_at_a_time(provider: LlamaCppProvider) -> None:
    requests = [REQUEST.model_copy(update={"key": f"k{i}", "max_tokens": 8}) for i in range(3)]
    answers = await asyncio.gather(*(provider.complete(r) for r in requests))
    assert len(answers) == 3 and all(a.usage.output_tokens > 0 for a in answers)
