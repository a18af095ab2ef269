"""The provider seam: a request, a response with usage and cost, and the Provider protocol.

Every stage talks to an :class:`LLMClient` (see client.py), which wraps one Provider with the
response cache, the concurrency and rate limits and the cost ledger. Providers only talk to
their model.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from mge.models.execution import Usage


class LLMRequest(BaseModel):
    """One call to a model.

    ``key`` is a logical, human-readable name for the call (``discovery``, ``plan``,
    ``skeleton/T-3``, ``atom/<id>/attempt-2``…). The scripted provider replays by key; the cache
    keys on :meth:`content_hash`, which covers everything that changes the answer.
    """

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1)
    system: tuple[str, ...] = Field(
        default=(), description="Stable blocks first (prompt caching marks the last one)."
    )
    prompt: str = Field(min_length=1, description="The variable part, last.")
    temperature: float = Field(default=0.7, ge=0.0, le=1.0)
    max_tokens: int = Field(default=4096, ge=1, le=64_000)
    model: str | None = Field(default=None, description="Override of the client's model.")

    def content_hash(self, model: str) -> str:
        """sha256 over model, system, prompt, temperature and max_tokens."""
        blob = json.dumps(
            [model, list(self.system), self.prompt, self.temperature, self.max_tokens],
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


class LLMResponse(BaseModel):
    """The text a model returned, with its usage and cost."""

    text: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    model: str
    provider: str
    from_cache: bool = Field(default=False, description="True when served by the response cache.")
    recorded: bool = Field(
        default=False, description="True when replayed from a recording, not produced by a model."
    )
    stop_reason: str | None = Field(
        default=None,
        description="Why the model stopped (end_turn, max_tokens, ...), when the provider says.",
    )


class Provider(Protocol):
    """A model endpoint. Implementations: anthropic, scripted (recordings)."""

    name: str
    model: str

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the model's answer; raise an LLMError subclass on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class ResponseCache(Protocol):
    """Content-hash keyed store of earlier responses (the store implements it)."""

    async def get_response(self, content_hash: str) -> LLMResponse | None:
        """The cached response, or None."""
        ...

    async def put_response(
        self, content_hash: str, request_key: str, response: LLMResponse
    ) -> None:
        """Remember a response (idempotent)."""
        ...


class CostLedger(Protocol):
    """Where every paid call is written down (the store implements it)."""

    async def record_cost(
        self, project: str | None, request_key: str, response: LLMResponse
    ) -> None:
        """Append one ledger row."""
        ...
