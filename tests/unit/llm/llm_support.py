"""Helpers for the LLM unit tests: an in-memory cache and ledger (the store implements the real
ones) and a latency-injecting wrapper for concurrency tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from mge.llm.base import LLMRequest, LLMResponse, Provider

NOTE = "Written by the MGE developers as a recording; not model output."


class MemoryCache:
    """The ResponseCache protocol over a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, LLMResponse]] = {}
        self.gets = 0

    async def get_response(self, content_hash: str) -> LLMResponse | None:
        self.gets += 1
        row = self.rows.get(content_hash)
        return row[1] if row else None

    async def put_response(
        self, content_hash: str, request_key: str, response: LLMResponse
    ) -> None:
        self.rows.setdefault(content_hash, (request_key, response))


class ListLedger:
    """The CostLedger protocol over a list."""

    def __init__(self) -> None:
        self.rows: list[tuple[str | None, str, LLMResponse]] = []

    async def record_cost(
        self, project: str | None, request_key: str, response: LLMResponse
    ) -> None:
        self.rows.append((project, request_key, response))


class Latency:
    """Wraps a real provider and injects a delay per call; records start times and the most
    calls seen in flight at once."""

    def __init__(self, inner: Provider, delay_s: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.delay_s = delay_s
        self.in_flight = 0
        self.max_in_flight = 0
        self.starts: list[float] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.starts.append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            return await self.inner.complete(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


WriteRecording = Callable[..., Path]
"""write_recording(entries, name="main.yaml", header=True) -> the recordings folder."""
