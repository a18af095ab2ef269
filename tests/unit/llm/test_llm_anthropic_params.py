"""The anthropic provider's pure parts: request building, sampling rule, usage, error mapping."""

from __future__ import annotations

import anthropic
import httpx2
import pytest
from anthropic.types import Usage as SDKUsage
from pydantic import SecretStr

from mge.errors import LLMAuthError, LLMError, LLMUnavailable
from mge.llm.anthropic_provider import build_messages_call, map_sdk_error, usage_from_sdk
from mge.llm.base import LLMRequest
from mge.llm.sampling import accepts_temperature
from mge.models.execution import Usage

KEY = SecretStr("sk-ant-unit-0123456789abcdef")


def test_the_last_system_block_is_marked_for_prompt_caching() -> None:
    request = LLMRequest(key="k", system=("role", "domain model"), prompt="the task")
    params = build_messages_call(request, "claude-sonnet-4-5").wire()
    assert params["system"] == [
        {"type": "text", "text": "role"},
        {"type": "text", "text": "domain model", "cache_control": {"type": "ephemeral"}},
    ]
    assert params["messages"] == [{"role": "user", "content": "the task"}]
    assert (params["model"], params["max_tokens"], params["temperature"]) == (
        "claude-sonnet-4-5",
        4096,
        0.7,
    )


def test_no_system_blocks_sends_no_system() -> None:
    call = build_messages_call(LLMRequest(key="k", prompt="p"), "claude-sonnet-4-5")
    assert call.system == [] and "system" not in call.wire()


def test_temperature_is_left_out_for_models_that_refuse_it() -> None:
    call = build_messages_call(LLMRequest(key="k", prompt="p"), "claude-sonnet-5-5")
    assert "temperature" not in call.wire()
    older = build_messages_call(LLMRequest(key="k", prompt="p", temperature=0.2), "claude-opus-4-6")
    assert older.extra_body == {"temperature": 0.2}


@pytest.mark.parametrize(
    ("model", "accepts"),
    [
        ("claude-sonnet-4-5", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-sonnet-4-6", True),
        ("claude-opus-4-6", True),
        ("claude-opus-4-20250514", True),
        ("claude-opus-4-1", True),
        ("claude-haiku-4-5-20251001", True),
        ("claude-3-5-haiku-20241022", True),
        ("claude-3-haiku-20240307", True),
        ("claude-opus-4-7", False),
        ("claude-opus-4-8", False),
        ("claude-opus-5", False),
        ("claude-opus-5-5", False),
        ("claude-sonnet-5", False),
        ("claude-sonnet-5-5", False),
        ("claude-haiku-5-5", False),
        ("claude-fable-5-1", False),
        ("claude-mythos-preview", False),
        ("some-future-model", False),
    ],
)
def test_which_models_accept_a_temperature(model: str, accepts: bool) -> None:
    assert accepts_temperature(model) is accepts


def test_usage_carries_cache_figures() -> None:
    sdk = SDKUsage(
        input_tokens=12,
        output_tokens=34,
        cache_read_input_tokens=56,
        cache_creation_input_tokens=78,
    )
    assert usage_from_sdk(sdk) == Usage(
        input_tokens=12, output_tokens=34, cache_read_tokens=56, cache_write_tokens=78
    )
    assert usage_from_sdk(SDKUsage(input_tokens=1, output_tokens=2)).cache_read_tokens == 0


def _status_error(status: int, message: str) -> anthropic.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    body = {"type": "error", "error": {"type": "some_error", "message": message}}
    response = httpx2.Response(status, json=body, request=request, headers={"request-id": "r-1"})
    return anthropic.APIStatusError(f"Error code: {status}", response=response, body=body)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, LLMAuthError),
        (403, LLMAuthError),
        (429, LLMUnavailable),
        (500, LLMUnavailable),
        (529, LLMUnavailable),
        (400, LLMError),
        (404, LLMError),
    ],
)
def test_status_errors_map_into_the_error_tree(status: int, kind: type[LLMError]) -> None:
    mapped = map_sdk_error(_status_error(status, "nope"), KEY, "m")
    assert type(mapped) is kind
    assert f"HTTP {status}" in str(mapped)
    assert "some_error: nope" in str(mapped)
    assert "request-id r-1" in str(mapped)


def test_an_echoed_key_is_redacted_from_the_message() -> None:
    echoed = f"invalid x-api-key: {KEY.get_secret_value()}"
    mapped = map_sdk_error(_status_error(401, echoed), KEY, "m")
    assert KEY.get_secret_value() not in str(mapped)
    assert "[redacted]" in str(mapped)
