"""The ``anthropic`` provider: Claude through the official async SDK (``AsyncAnthropic``).

What this module adds to the SDK:

* **Prompt caching.** ``LLMRequest.system`` blocks go first, the last one marked
  ``cache_control: {type: ephemeral}``, so every call that shares the stable context (the role,
  the domain model, the conventions) reads it from Anthropic's cache; the variable part is the
  user message.
* **Retries** are the SDK's own (``max_retries``): 408, 409, 429, 5xx including 529
  ``overloaded_error``, connection errors and timeouts, with exponential backoff that waits
  exactly what a ``retry-after``/``retry-after-ms`` header asks. Verified in
  tests/integration/llm; see docs/llm.md.
* **Error mapping** into mge.errors: 401/403 → LLMAuthError (never retried), anything retryable
  still failing after the last retry → LLMUnavailable, other refusals → LLMError. Messages name
  the status, the error type and the request id; the API key is never in them, and the SDK
  exception is not chained (its body could echo what the server was sent).
* **Usage and cost**, including cache-read and cache-write tokens, priced by pricing.py.
* **Sampling**: the SDK (2.x) has no ``temperature`` argument any more; it is sent as an extra
  body field, and only to models that still accept it (sampling.py).

Importing this module imports the SDK (over a second); mge.llm imports it only when an anthropic
provider is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anthropic
from anthropic.types import CacheControlEphemeralParam, Message, MessageParam, TextBlockParam
from pydantic import SecretStr

from mge.errors import LLMAuthError, LLMError, LLMUnavailable
from mge.llm.base import LLMRequest, LLMResponse
from mge.llm.credentials import redact
from mge.llm.pricing import cost_usd
from mge.llm.sampling import accepts_temperature
from mge.models.execution import Usage

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_SECONDS",
    "AnthropicProvider",
    "MessagesCall",
    "build_messages_call",
    "map_sdk_error",
    "usage_from_sdk",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 4
"""Retries after the first attempt (Settings.llm_max_retries overrides)."""

DEFAULT_TIMEOUT_SECONDS = 120.0
"""Timeout of one HTTP attempt, seconds (Settings.llm_timeout_seconds overrides)."""

CACHE_CONTROL: CacheControlEphemeralParam = {"type": "ephemeral"}
"""Prompt-cache marker for the last stable block (5-minute lifetime)."""

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Statuses the SDK retries besides 5xx; still failing after the last retry → LLMUnavailable."""

AUTH_STATUSES = frozenset({401, 403})
"""Statuses that mean the credentials were refused; never retried."""


@dataclass(frozen=True)
class MessagesCall:
    """The arguments of one ``messages.create`` call."""

    model: str
    max_tokens: int
    messages: list[MessageParam]
    system: list[TextBlockParam]
    extra_body: dict[str, object]
    """Body fields the SDK has no argument for: since SDK 2.x that includes ``temperature``."""

    def wire(self) -> dict[str, Any]:
        """The JSON body the API receives (what the integration tests' server sees)."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": self.messages,
        }
        if self.system:
            body["system"] = self.system
        return {**body, **self.extra_body}


def build_messages_call(request: LLMRequest, model: str) -> MessagesCall:
    """The Messages API call for ``request``: cached system blocks, then the prompt.

    The temperature goes in only for models that accept one (sampling.py).
    """
    system: list[TextBlockParam] = [{"type": "text", "text": block} for block in request.system]
    if system:
        system[-1]["cache_control"] = CACHE_CONTROL
    extra: dict[str, object] = {}
    if accepts_temperature(model):
        extra["temperature"] = request.temperature
    return MessagesCall(
        model=model,
        max_tokens=request.max_tokens,
        messages=[{"role": "user", "content": request.prompt}],
        system=system,
        extra_body=extra,
    )


def usage_from_sdk(usage: anthropic.types.Usage) -> Usage:
    """Our Usage from the SDK's (cache figures are absent when caching did not apply)."""
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_tokens=usage.cache_creation_input_tokens or 0,
    )


def map_sdk_error(err: Exception, api_key: SecretStr, model: str) -> LLMError:
    """The mge.errors equivalent of an SDK error, with a message safe to log."""
    if isinstance(err, anthropic.APITimeoutError):
        return LLMUnavailable(f"model {model!r}: the request timed out on every attempt")
    if isinstance(err, anthropic.APIConnectionError):
        return LLMUnavailable(
            f"model {model!r}: could not reach the API on any attempt "
            f"({redact(str(err.__cause__ or err.message), api_key)})"
        )
    if isinstance(err, anthropic.APIStatusError):
        status = err.status_code
        detail = redact(f"{err.type or 'error'}: {err.api_message or err.message}", api_key)
        where = f" (request-id {err.request_id})" if err.request_id else ""
        if status in AUTH_STATUSES:
            return LLMAuthError(
                f"the Anthropic API refused the credentials (HTTP {status}, {detail}){where}; "
                "check ANTHROPIC_API_KEY or anthropic_api_key_file"
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            return LLMUnavailable(
                f"model {model!r}: HTTP {status} after every retry ({detail}){where}"
            )
        return LLMError(
            f"model {model!r}: the API refused the request: HTTP {status}, {detail}{where}"
        )
    return LLMError(f"model {model!r}: {type(err).__name__}: {redact(str(err), api_key)}")


def _text_of(message: Message) -> str:
    """The answer's text blocks joined (thinking and other blocks are not the answer)."""
    return "".join(block.text for block in message.content if block.type == "text")


class AnthropicProvider:
    """Claude over the Messages API. One SDK client (one connection pool) per provider."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: SecretStr,
        model: str,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self._sdk = anthropic.AsyncAnthropic(
            api_key=api_key.get_secret_value(),
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout_seconds,
        )
        self._omitting_temperature_logged = False

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r}, base_url={self.base_url!r})"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one request; raise LLMAuthError, LLMUnavailable or LLMError on failure."""
        model = request.model or self.model
        call = build_messages_call(request, model)
        if "temperature" not in call.extra_body and not self._omitting_temperature_logged:
            self._omitting_temperature_logged = True
            log.info("model %r refuses sampling parameters: temperature is left out", model)
        try:
            message = await self._sdk.messages.create(
                model=call.model,
                max_tokens=call.max_tokens,
                messages=call.messages,
                system=call.system or anthropic.omit,
                extra_body=call.extra_body or None,
            )
        except (anthropic.APIError, ValueError) as e:
            raise map_sdk_error(e, self._api_key, model) from None
        usage = usage_from_sdk(message.usage)
        if message.stop_reason == "max_tokens":
            log.warning(
                "%s: the answer was cut off at max_tokens=%d", request.key, request.max_tokens
            )
        return LLMResponse(
            text=_text_of(message),
            usage=usage,
            cost_usd=cost_usd(model, usage),
            model=model,
            provider=self.name,
            stop_reason=message.stop_reason,
        )

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._sdk.close()
