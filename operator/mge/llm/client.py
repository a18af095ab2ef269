"""LLMClient: the one way every stage calls a model.

It wraps one Provider with what every call needs, in this order:

1. the **response cache** (content hash of model + request): a hit is returned with
   ``from_cache=True``, no usage and no cost, and never reaches the provider;
2. a **concurrency limit** (``asyncio.Semaphore``): at most ``concurrency`` calls in flight;
3. a **rate limit** (aiolimiter leaky bucket): ``requests_per_minute``, smoothed so a burst is at
   most one second's worth of requests;
4. the provider call, then the **cost ledger** row, the cache write and the **running totals**
   (usage, cost, calls, cache hits) that the pipeline reads for budgets and reports.

``complete_structured`` adds JSON extraction, validation and one repair round (structured.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel

from mge import metrics
from mge.config import Settings
from mge.errors import LLMError
from mge.llm.base import CostLedger, LLMRequest, LLMResponse, Provider, ResponseCache
from mge.llm.structured import complete_structured
from mge.models.execution import Usage

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_REQUESTS_PER_MINUTE",
    "LLMClient",
    "Totals",
    "rate_limiter",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 100
"""Calls in flight at once (Settings.llm_concurrency)."""

DEFAULT_REQUESTS_PER_MINUTE = 1000
"""Requests started per minute (Settings.llm_requests_per_minute)."""

SECONDS_PER_MINUTE = 60.0

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Totals:
    """Running totals of one client: what was spent, how often, how much the cache saved."""

    usage: Usage
    cost_usd: float
    calls: int
    """Calls that reached the provider and returned an answer."""
    cache_hits: int
    """Calls answered by the response cache (free)."""
    failures: int = 0
    """Calls that reached the provider and raised an LLMError."""


def rate_limiter(requests_per_minute: int) -> AsyncLimiter:
    """A leaky bucket with the given average rate whose burst is about one second's worth.

    aiolimiter's bucket holds ``max_rate`` tokens: a per-minute bucket would let the whole
    minute's allowance out at once. The bucket here holds ``ceil(rpm / 60)`` (at least 1) and
    refills at ``rpm / 60`` per second.
    """
    burst = max(1, math.ceil(requests_per_minute / SECONDS_PER_MINUTE))
    return AsyncLimiter(burst, time_period=burst * SECONDS_PER_MINUTE / requests_per_minute)


class LLMClient:
    """One provider with cache, limits, ledger and totals. Safe to share across tasks."""

    def __init__(
        self,
        provider: Provider,
        *,
        cache: ResponseCache | None = None,
        ledger: CostLedger | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        if concurrency < 1 or requests_per_minute < 1:
            raise ValueError("concurrency and requests_per_minute must be at least 1")
        self.provider = provider
        self.cache = cache
        self.ledger = ledger
        self.concurrency = concurrency
        self.requests_per_minute = requests_per_minute
        self._slots = asyncio.Semaphore(concurrency)
        self._limiter = rate_limiter(requests_per_minute)
        self._usage = Usage()
        self._cost = 0.0
        self._calls = 0
        self._cache_hits = 0
        self._failures = 0

    @classmethod
    def from_settings(
        cls,
        provider: Provider,
        settings: Settings,
        *,
        cache: ResponseCache | None = None,
        ledger: CostLedger | None = None,
    ) -> LLMClient:
        """A client with the process-wide limits of ``settings``."""
        return cls(
            provider,
            cache=cache,
            ledger=ledger,
            concurrency=settings.llm_concurrency,
            requests_per_minute=settings.llm_requests_per_minute,
        )

    def __repr__(self) -> str:
        return (
            f"LLMClient({self.provider!r}, concurrency={self.concurrency}, "
            f"requests_per_minute={self.requests_per_minute})"
        )

    @property
    def model(self) -> str:
        """The provider's default model."""
        return self.provider.model

    @property
    def totals(self) -> Totals:
        """A snapshot of the running totals."""
        return Totals(
            usage=self._usage.model_copy(),
            cost_usd=self._cost,
            calls=self._calls,
            cache_hits=self._cache_hits,
            failures=self._failures,
        )

    def content_hash(self, request: LLMRequest) -> str:
        """The cache key of ``request`` with this client's model."""
        return request.content_hash(request.model or self.provider.model)

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        """The model's answer to ``request``, from the cache when it was asked before.

        ``project`` labels the cost-ledger row. Raises the provider's LLMError subclasses.
        """
        digest = self.content_hash(request)
        if self.cache is not None:
            cached = await self.cache.get_response(digest)
            if cached is not None:
                self._cache_hits += 1
                metrics.observe_llm_request(cached.model, cached=True)
                return cached.model_copy(
                    update={"from_cache": True, "usage": Usage(), "cost_usd": 0.0}
                )
        async with self._slots:
            await self._limiter.acquire()
            try:
                response = await self.provider.complete(request)
            except LLMError:
                self._failures += 1
                raise
        self._calls += 1
        self._usage = self._usage + response.usage
        self._cost += response.cost_usd
        u = response.usage
        metrics.observe_llm_request(
            response.model,
            cached=False,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_tokens,
            cache_write_tokens=u.cache_write_tokens,
            cost_usd=response.cost_usd,
        )
        if self.ledger is not None:
            await self.ledger.record_cost(project, request.key, response)
        if self.cache is not None:
            await self.cache.put_response(digest, request.key, response)
        return response

    async def complete_structured(
        self, request: LLMRequest, model_cls: type[M], project: str | None = None
    ) -> tuple[M, LLMResponse]:
        """The answer parsed into ``model_cls``, after at most one repair round.

        The returned response is the one that parsed; its usage and cost cover both calls when
        a repair was needed. Raises StructuredOutputError listing the validation errors.
        """

        async def call(req: LLMRequest) -> LLMResponse:
            return await self.complete(req, project)

        return await complete_structured(call, request, model_cls)

    async def aclose(self) -> None:
        """Close the provider."""
        await self.provider.aclose()
