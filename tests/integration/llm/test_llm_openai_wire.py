"""The openai-compatible provider against a local chat-completions server, faults included.

The real ``openai`` SDK does the HTTP, the retries and the waiting; the server plays back
scripted answers (completions, 429 with retry-after, 5xx, slow answers, bodies that are not
JSON) and records what it was sent. The key never reaches a log record or an exception.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from chat_server import ChatServer, Reply, completion, error
from pydantic import SecretStr

from mge.errors import LLMAuthError, LLMError, LLMUnavailable, StructuredOutputError
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient
from mge.llm.openai_provider import NO_KEY, OpenAICompatibleProvider
from mge.llm.pricing import ModelPrice
from mge.models import Task

API_KEY = "sk-test-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
MODEL = "qwen2.5-coder:7b"
TASK = {"id": "T-1", "title": "Entities", "role": "backend", "files": ["todo/model.py"]}
REQUEST = LLMRequest(
    key="plan", system=("You are the planner.", "Domain model: ..."), prompt="Plan the work."
)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log record at DEBUG (the SDK's request dumps included) and check them."""
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "httpcore", "mge"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        assert API_KEY not in record.getMessage()
        assert API_KEY not in str(record.__dict__)


def make(server: ChatServer, **kw: float) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        model=MODEL,
        base_url=server.base_url,
        api_key=SecretStr(API_KEY),
        max_retries=int(kw.get("max_retries", 2)),
        timeout_seconds=kw.get("timeout_seconds", 5.0),
    )


@pytest.fixture
async def provider(server: ChatServer) -> AsyncIterator[OpenAICompatibleProvider]:
    p = make(server)
    yield p
    await p.aclose()


def assert_no_key(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err))
    assert API_KEY not in text and API_KEY not in repr(err)


async def test_success_sends_system_and_user_messages_and_reads_usage(
    server: ChatServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(completion("the plan", prompt_tokens=40, completion_tokens=300, cached_tokens=32))
    r = await provider.complete(REQUEST.model_copy(update={"temperature": 0.3, "max_tokens": 99}))

    sent = server.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == MODEL
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are the planner.\n\nDomain model: ..."},
        {"role": "user", "content": "Plan the work."},
    ]
    assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.3, 99)
    assert (r.text, r.provider, r.model, r.stop_reason) == (
        "the plan",
        "openai-compatible",
        MODEL,
        "end_turn",
    )
    assert (r.usage.input_tokens, r.usage.cache_read_tokens, r.usage.output_tokens) == (8, 32, 300)
    assert r.cost_usd == 0.0  # no price configured


async def test_without_a_key_a_placeholder_is_sent_and_a_configured_price_is_charged(
    server: ChatServer,
) -> None:
    server.script(completion("ok", prompt_tokens=1_000_000, completion_tokens=500_000))
    price = ModelPrice(input=0.5, output=2.0, cache_read=0.0, cache_write=0.0)
    p = OpenAICompatibleProvider(model=MODEL, base_url=server.base_url, price=price)
    try:
        r = await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert server.received[0].headers["authorization"] == f"Bearer {NO_KEY}"
    assert r.cost_usd == pytest.approx(0.5 + 1.0)


async def test_429_waits_what_retry_after_asks_then_succeeds(
    server: ChatServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(
        error(429, "rate_limit_exceeded", "slow down", {"retry-after": "1"}),
        completion("after the wait"),
    )
    r = await provider.complete(REQUEST)
    assert r.text == "after the wait" and len(server.received) == 2
    waited = server.received[1].at - server.received[0].at
    assert 0.95 <= waited < 3.0, waited  # the SDK's own first backoff is at most 0.5 s


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried(
    server: ChatServer, provider: OpenAICompatibleProvider, status: int
) -> None:
    server.script(error(status, "server_error", "boom", {"retry-after-ms": "20"}), completion("ok"))
    assert (await provider.complete(REQUEST)).text == "ok"
    assert len(server.received) == 2


async def test_5xx_forever_ends_in_llm_unavailable_after_every_retry(server: ChatServer) -> None:
    server.script(then=error(503, "server_error", "model loading", {"retry-after": "0.05"}))
    p = make(server, max_retries=3)
    try:
        with pytest.raises(LLMUnavailable) as info:
            await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert len(server.received) == 4  # the first attempt and 3 retries
    assert "HTTP 503" in str(info.value) and "model loading" in str(info.value)
    assert_no_key(info.value)


async def test_a_timeout_is_retried_then_unavailable(server: ChatServer) -> None:
    server.script(then=replace(completion("too late"), delay_s=2.0))
    p = make(server, max_retries=1, timeout_seconds=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(LLMUnavailable, match="timed out") as info:
            await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert len(server.received) == 2
    # Gave up on both attempts before the answer; both waiting the full 2 s would be > 4 s.
    assert time.monotonic() - started < 3.9
    assert_no_key(info.value)


async def test_nothing_listening_is_unavailable(unused_tcp_port: int) -> None:
    p = OpenAICompatibleProvider(
        model=MODEL, base_url=f"http://127.0.0.1:{unused_tcp_port}/v1", max_retries=1
    )
    try:
        with pytest.raises(LLMUnavailable, match="could not reach"):
            await p.complete(REQUEST)
    finally:
        await p.aclose()


async def test_401_is_an_auth_error_without_retry_and_without_the_key(
    server: ChatServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(then=error(401, "invalid_api_key", f"Incorrect API key provided: {API_KEY}"))
    with pytest.raises(LLMAuthError) as info:
        await provider.complete(REQUEST)
    assert len(server.received) == 1
    assert "HTTP 401" in str(info.value) and "[redacted]" in str(info.value)
    assert_no_key(info.value)


async def test_404_model_not_found_is_an_llm_error_without_retry(
    server: ChatServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(then=error(404, "not_found", "model 'qwen2.5-coder:7b' not found"))
    with pytest.raises(LLMError) as info:
        await provider.complete(REQUEST)
    assert type(info.value) is LLMError and "HTTP 404" in str(info.value)
    assert len(server.received) == 1


@pytest.mark.parametrize(
    "raw",
    [b"<html><body>502 Bad Gateway</body></html>", b'{"id": "chatcmpl-1", "choices": [{"ind'],
)
async def test_a_body_that_is_not_a_completion_is_an_llm_error_not_a_crash(
    server: ChatServer, provider: OpenAICompatibleProvider, raw: bytes
) -> None:
    server.script(then=Reply(raw=raw))
    with pytest.raises(LLMError) as info:
        await provider.complete(REQUEST)
    assert "not a chat completion" in str(info.value)
    assert_no_key(info.value)


async def test_a_cut_off_answer_says_max_tokens(
    server: ChatServer, provider: OpenAICompatibleProvider, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(completion("def f(", finish_reason="length"))
    r = await provider.complete(REQUEST)
    assert r.stop_reason == "max_tokens"
    assert any("cut off" in rec.getMessage() for rec in caplog.records)


async def test_malformed_json_answer_is_repaired_over_the_wire(server: ChatServer) -> None:
    server.script(
        completion('Here is the task: {"id": "T-1", "title": "Entities", "role": ', model=MODEL),
        completion("```json\n" + json.dumps(TASK) + "\n```"),
    )
    client = LLMClient(make(server))
    try:
        task, response = await client.complete_structured(REQUEST, Task)
    finally:
        await client.aclose()
    assert task.id == "T-1" and task.files == ["todo/model.py"]
    repair = server.received[1].body
    assert repair["temperature"] == 0.0
    assert repair["messages"][0] == server.received[0].body["messages"][0]  # same system
    assert "Entities" in repair["messages"][-1]["content"]  # the failed answer is shown
    assert response.usage.output_tokens == 14  # both calls are paid for
    assert client.totals.calls == 2  # the answer and its repair


async def test_an_answer_that_stays_malformed_is_a_structured_output_error(
    server: ChatServer,
) -> None:
    server.script(completion("no json here"), completion("still none"))
    client = LLMClient(make(server))
    try:
        with pytest.raises(StructuredOutputError):
            await client.complete_structured(REQUEST, Task)
    finally:
        await client.aclose()
    assert len(server.received) == 2
