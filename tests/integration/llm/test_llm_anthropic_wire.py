"""The anthropic provider against a local server speaking the Messages API wire format.

The real SDK (AsyncAnthropic) does the HTTP, the retries and the waiting; the server only plays
back scripted answers and records what it was sent. Every test also checks that the API key
never reached a log record or an exception's text.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from messages_server import MessagesServer, error, message
from pydantic import SecretStr

from mge.errors import LLMAuthError, LLMError, LLMUnavailable, StructuredOutputError
from mge.llm.anthropic_provider import AnthropicProvider
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient
from mge.llm.pricing import cost_usd
from mge.models import Task

API_KEY = "sk-ant-test-7f3c9e1d2b4a6f8e0c1d3b5a7f9e2c4d"
MODEL = "claude-sonnet-4-6"
TASK = {"id": "T-1", "title": "Entities", "role": "backend", "files": ["todo/model.py"]}


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    with MessagesServer() as s:
        yield s


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log record at DEBUG (the SDK's request dumps included) and check them."""
    caplog.set_level(logging.DEBUG)
    for name in ("anthropic", "httpx2", "httpcore", "mge"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any(r.name.startswith("anthropic") for r in records), "the SDK logged nothing"
    for record in records:
        assert API_KEY not in record.getMessage()
        assert API_KEY not in str(record.__dict__)


def make(server: MessagesServer, **kw: float) -> AnthropicProvider:
    return AnthropicProvider(
        api_key=SecretStr(API_KEY),
        model=MODEL,
        base_url=server.base_url,
        max_retries=int(kw.get("max_retries", 2)),
        timeout_seconds=kw.get("timeout_seconds", 5.0),
    )


@pytest.fixture
async def provider(server: MessagesServer) -> AsyncIterator[AnthropicProvider]:
    p = make(server)
    yield p
    await p.aclose()


def assert_no_key(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err))
    assert API_KEY not in text
    assert API_KEY not in repr(err)


REQUEST = LLMRequest(
    key="plan", system=("You are the planner.", "Domain model: ..."), prompt="Plan the work."
)


async def test_success_sends_cached_system_blocks_and_reads_cache_usage(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(message("the plan", input_tokens=40, output_tokens=300, cache_write=2000))
    server.script(message("again", input_tokens=45, output_tokens=280, cache_read=2000))

    first = await provider.complete(REQUEST)
    second = await provider.complete(REQUEST.model_copy(update={"prompt": "Plan again."}))

    sent = server.received[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"  # how SDK 2.x sends api_key
    assert sent.body["model"] == MODEL
    assert sent.body["system"] == [
        {"type": "text", "text": "You are the planner."},
        {"type": "text", "text": "Domain model: ...", "cache_control": {"type": "ephemeral"}},
    ]
    assert sent.body["messages"] == [{"role": "user", "content": "Plan the work."}]
    assert sent.body["temperature"] == 0.7 and sent.body["max_tokens"] == 4096
    assert server.received[1].body["system"] == sent.body["system"]  # same stable prefix

    assert (first.text, first.provider, first.model, first.recorded) == (
        "the plan",
        "anthropic",
        MODEL,
        False,
    )
    assert (first.usage.cache_write_tokens, first.usage.cache_read_tokens) == (2000, 0)
    assert (second.usage.cache_write_tokens, second.usage.cache_read_tokens) == (0, 2000)
    assert first.cost_usd == pytest.approx(cost_usd(MODEL, first.usage))
    assert first.cost_usd == pytest.approx((40 * 3 + 300 * 15 + 2000 * 3.75) / 1e6)
    assert second.cost_usd < first.cost_usd  # a cache read is cheaper than a cache write
    assert first.stop_reason == "end_turn"


async def test_a_model_that_refuses_sampling_gets_no_temperature(server: MessagesServer) -> None:
    server.script(message("ok", model="claude-opus-5-5"))
    p = make(server)
    try:
        r = await p.complete(REQUEST.model_copy(update={"model": "claude-opus-5-5"}))
    finally:
        await p.aclose()
    assert "temperature" not in server.received[0].body
    assert server.received[0].body["model"] == r.model == "claude-opus-5-5"


async def test_429_waits_what_retry_after_asks_then_succeeds(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(
        error(429, "rate_limit_error", "slow down", {"retry-after": "1"}),
        message("after the wait"),
    )
    r = await provider.complete(REQUEST)
    assert r.text == "after the wait"
    assert len(server.received) == 2
    waited = server.received[1].at - server.received[0].at
    # The SDK's own first backoff is at most 0.5 s; 1 s means it honoured retry-after.
    assert 0.95 <= waited < 3.0, waited


async def test_529_overloaded_is_retried(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(error(529, "overloaded_error", "Overloaded"), message("fine now"))
    r = await provider.complete(REQUEST)
    assert r.text == "fine now" and len(server.received) == 2


async def test_529_forever_ends_in_llm_unavailable_after_every_retry(
    server: MessagesServer,
) -> None:
    server.script(then=error(529, "overloaded_error", "Overloaded", {"retry-after": "0.05"}))
    p = make(server, max_retries=3)
    try:
        with pytest.raises(LLMUnavailable) as info:
            await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert len(server.received) == 4  # the first attempt and 3 retries
    assert "HTTP 529" in str(info.value) and "overloaded_error" in str(info.value)
    assert_no_key(info.value)


async def test_a_timeout_is_retried_then_unavailable(server: MessagesServer) -> None:
    server.script(then=replace(message("too late"), delay_s=2.0))
    p = make(server, max_retries=1, timeout_seconds=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(LLMUnavailable, match="timed out") as info:
            await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert len(server.received) == 2
    # It gave up on both attempts before the server answered (else: a reply, no error); the
    # bound is loose for a loaded machine: both attempts waiting the full 2 s would be > 4 s.
    assert time.monotonic() - started < 3.9
    assert_no_key(info.value)


async def test_401_is_an_auth_error_without_retry_and_without_the_key(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    # A careless proxy echoing the key it was sent: the message must still not carry it.
    server.script(then=error(401, "authentication_error", f"invalid x-api-key {API_KEY}"))
    with pytest.raises(LLMAuthError) as info:
        await provider.complete(REQUEST)
    assert len(server.received) == 1
    assert "HTTP 401" in str(info.value) and "[redacted]" in str(info.value)
    assert_no_key(info.value)


async def test_403_is_an_auth_error_too(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(then=error(403, "permission_error", "not allowed"))
    with pytest.raises(LLMAuthError):
        await provider.complete(REQUEST)
    assert len(server.received) == 1


async def test_400_is_an_llm_error_without_retry(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(then=error(400, "invalid_request_error", "max_tokens: too large"))
    with pytest.raises(LLMError) as info:
        await provider.complete(REQUEST)
    assert type(info.value) is LLMError
    assert "max_tokens: too large" in str(info.value) and len(server.received) == 1


async def test_malformed_json_gets_one_repair_round_then_an_error(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(
        message('Here you go: {"id": "T-1", "title": '),  # cut off mid-object
        message(json.dumps({**TASK, "role": "wizard"})),  # valid JSON, wrong value
    )
    client = LLMClient(provider)
    request = REQUEST.model_copy(update={"key": "task"})
    with pytest.raises(StructuredOutputError, match="role") as info:
        await client.complete_structured(request, Task)
    assert len(server.received) == 2
    repair = server.received[1].body
    assert repair["system"] == server.received[0].body["system"]
    repair_prompt = repair["messages"][0]["content"]
    assert "no JSON object or array" in repair_prompt
    assert '{"id": "T-1", "title": ' in repair_prompt  # the failed answer is shown back
    assert "corrected JSON only" in repair_prompt
    assert repair["temperature"] == 0.0
    assert client.totals.calls == 2
    assert_no_key(info.value)


async def test_malformed_json_repaired_successfully(
    server: MessagesServer, provider: AnthropicProvider
) -> None:
    server.script(message("```json\n{'id': 'T-1'}\n```"), message(json.dumps(TASK)))
    client = LLMClient(provider)
    task, response = await client.complete_structured(REQUEST, Task)
    assert task.id == "T-1" and len(server.received) == 2
    assert response.usage.input_tokens == 20  # both calls counted
