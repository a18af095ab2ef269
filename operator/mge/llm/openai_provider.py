"""The ``openai-compatible`` provider: any chat-completions endpoint through the official SDK.

Ollama (``http://localhost:11434/v1``), vLLM (``http://HOST:8000/v1``), the llama.cpp server,
LM Studio and OpenAI itself all speak ``POST /chat/completions``. What this module adds to the
``openai`` SDK (``AsyncOpenAI``):

* **Messages**: ``LLMRequest.system`` blocks become one system message, the prompt the user
  message; ``temperature`` and ``max_tokens`` (the field every compatible server knows) are
  sent as given.
* **Retries** are the SDK's own (``max_retries``): 408, 409, 429, 5xx, connection errors and
  timeouts, waiting what ``retry-after``/``retry-after-ms`` asks (the SDK ignores a
  ``retry-after`` longer than a minute and backs off instead). Verified in
  tests/integration/llm against a local chat-completions server.
* **Error mapping** into mge.errors, as for the anthropic provider: 401/403 → LLMAuthError,
  retryable failures still failing after the last retry → LLMUnavailable, other refusals →
  LLMError; the key is redacted and the SDK exception not chained. A 200 whose body is not a
  chat completion (a proxy's HTML page, truncated JSON) is an LLMError for that call.
* **Usage** from the response's ``usage`` (``prompt_tokens``/``completion_tokens``, and
  ``prompt_tokens_details.cached_tokens`` as cache reads when the server reports them).
  **Cost** is 0 unless a price is configured: local servers cost nothing per token, and a
  hosted model's price is not ours to guess.

Structured output and its repair round are the client's (LLMClient.complete_structured) and work
the same over this provider. The SDK is imported when the first provider is made.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
from pydantic import SecretStr

from mge.errors import LLMAuthError, LLMError, LLMUnavailable
from mge.llm.base import LLMRequest, LLMResponse
from mge.llm.chat import chat_messages, stop_reason_of
from mge.llm.credentials import redact
from mge.llm.pricing import ModelPrice
from mge.models.execution import Usage

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_SECONDS",
    "NO_KEY",
    "OpenAICompatibleProvider",
    "chat_messages",
    "map_sdk_error",
    "usage_from_body",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 4
"""Retries after the first attempt (Settings.llm_max_retries overrides)."""

DEFAULT_TIMEOUT_SECONDS = 120.0
"""Timeout of one HTTP attempt, seconds (Settings.llm_timeout_seconds overrides)."""

API_KEY_ENV = "OPENAI_API_KEY"
"""Where the key is read from when none is passed (optional: local servers need none)."""

NO_KEY = "no-key"
"""Sent as the bearer token when no key is configured (Ollama and vLLM ignore it)."""

RETRYABLE_STATUSES = frozenset({408, 409, 429})
AUTH_STATUSES = frozenset({401, 403})


def usage_from_body(usage: Any) -> Usage:
    """Our Usage from a chat completion's ``usage`` (absent or partial on some servers)."""
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cache_read_tokens=cached,
    )


def map_sdk_error(err: Exception, api_key: SecretStr, model: str, base_url: str) -> LLMError:
    """The mge.errors equivalent of an SDK error, with a message safe to log."""
    where = f"model {model!r} at {base_url}"
    if isinstance(err, json.JSONDecodeError):
        return LLMError(f"{where}: the answer is not a chat completion (invalid JSON: {err.msg})")
    if isinstance(err, openai.APITimeoutError):
        return LLMUnavailable(f"{where}: the request timed out on every attempt")
    if isinstance(err, openai.APIConnectionError):
        cause = redact(str(err.__cause__ or err.message), api_key)
        return LLMUnavailable(f"{where}: could not reach the server on any attempt ({cause})")
    if isinstance(err, openai.APIStatusError):
        status = err.status_code
        detail = redact(f"{err.type or 'error'}: {err.message}", api_key)
        rid = f" (request-id {err.request_id})" if err.request_id else ""
        if status in AUTH_STATUSES:
            return LLMAuthError(
                f"{where}: the server refused the credentials (HTTP {status}, {detail}){rid}; "
                f"check {API_KEY_ENV} or spec.llm.secretRef"
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            return LLMUnavailable(f"{where}: HTTP {status} after every retry ({detail}){rid}")
        return LLMError(f"{where}: the server refused the request: HTTP {status}, {detail}{rid}")
    return LLMError(f"{where}: {type(err).__name__}: {redact(str(err), api_key)}")


class OpenAICompatibleProvider:
    """A chat-completions endpoint. One SDK client (one connection pool) per provider."""

    name = "openai-compatible"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: SecretStr | None = None,
        price: ModelPrice | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.model = model
        self._api_key = api_key or SecretStr(NO_KEY)
        self.price = price
        self._sdk = openai.AsyncOpenAI(
            api_key=self._api_key.get_secret_value(),
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout_seconds,
        )
        self.base_url = str(self._sdk.base_url)

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(model={self.model!r}, base_url={self.base_url!r})"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one request; raise LLMAuthError, LLMUnavailable or LLMError on failure."""
        model = request.model or self.model
        try:
            completion = await self._sdk.chat.completions.create(
                model=model,
                messages=chat_messages(request),  # type: ignore[arg-type]
                temperature=request.temperature,
                max_tokens=request.max_tokens,
            )
        except (openai.APIError, ValueError) as e:
            raise map_sdk_error(e, self._api_key, model, self.base_url) from None
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise LLMError(
                f"model {model!r} at {self.base_url}: the answer is not a chat completion "
                f"(no choices; got {type(completion).__name__})"
            )
        choice = choices[0]
        text = choice.message.content if choice.message is not None else None
        stop = stop_reason_of(choice.finish_reason)
        if stop == "max_tokens":
            log.warning(
                "%s: the answer was cut off at max_tokens=%d", request.key, request.max_tokens
            )
        usage = usage_from_body(completion.usage)
        return LLMResponse(
            text=text or "",
            usage=usage,
            cost_usd=self.price.cost(usage) if self.price else 0.0,
            model=getattr(completion, "model", None) or model,
            provider=self.name,
            stop_reason=stop,
        )

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._sdk.close()
