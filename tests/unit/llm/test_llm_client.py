"""LLMClient: cache hits, totals, ledger rows, the concurrency bound and the rate limit."""

from __future__ import annotations

import asyncio
import time

import pytest
from llm_support import Latency, ListLedger, MemoryCache, WriteRecording

from mge.config import Settings
from mge.errors import RecordingMissing
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient, rate_limiter
from mge.llm.scripted import ScriptedProvider
from mge.models.execution import Usage

PRICED_AS = "claude-sonnet-4-5"


def req(key: str, prompt: str = "p") -> LLMRequest:
    return LLMRequest(key=key, system=("stable",), prompt=prompt)


async def test_a_repeated_request_is_served_by_the_cache_for_free(
    write_recording: WriteRecording,
) -> None:
    # Only ONE response is recorded: a second provider call would raise "recording exhausted".
    folder = write_recording(
        [{"key": "plan", "usage": {"input_tokens": 1000, "output_tokens": 100}, "response": "P"}]
    )
    cache, ledger = MemoryCache(), ListLedger()
    client = LLMClient(ScriptedProvider(folder, priced_as=PRICED_AS), cache=cache, ledger=ledger)

    first = await client.complete(req("plan"), project="demo")
    second = await client.complete(req("plan"), project="demo")

    assert first.text == second.text == "P"
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.cost_usd == 0.0 and second.usage == Usage()
    t = client.totals
    assert (t.calls, t.cache_hits, t.failures) == (1, 1, 0)
    assert t.usage == Usage(input_tokens=1000, output_tokens=100)
    assert t.cost_usd == pytest.approx(first.cost_usd) and first.cost_usd > 0
    assert [(p, k) for p, k, _ in ledger.rows] == [("demo", "plan")]
    assert len(cache.rows) == 1


async def test_a_changed_prompt_or_model_is_a_different_cache_entry(
    write_recording: WriteRecording,
) -> None:
    folder = write_recording(
        [
            {"key": "plan", "response": "one"},
            {"key": "plan", "response": "two"},
            {"key": "plan", "response": "three"},
        ]
    )
    client = LLMClient(ScriptedProvider(folder), cache=MemoryCache())
    a = await client.complete(req("plan", "v1"))
    b = await client.complete(req("plan", "v2"))
    c = await client.complete(req("plan", "v1").model_copy(update={"model": "other-model"}))
    assert [a.text, b.text, c.text] == ["one", "two", "three"]
    assert client.totals.cache_hits == 0


async def test_totals_add_up_over_calls_and_count_failures(
    write_recording: WriteRecording,
) -> None:
    folder = write_recording(
        [
            {"key": "a", "usage": {"input_tokens": 10, "cache_read_tokens": 5}, "response": "1"},
            {"key": "b", "usage": {"output_tokens": 20, "cache_write_tokens": 7}, "response": "2"},
        ]
    )
    ledger = ListLedger()
    client = LLMClient(ScriptedProvider(folder, priced_as=PRICED_AS), ledger=ledger)
    ra = await client.complete(req("a"))
    rb = await client.complete(req("b"))
    with pytest.raises(RecordingMissing):
        await client.complete(req("c"))
    t = client.totals
    assert t.usage == Usage(
        input_tokens=10, output_tokens=20, cache_read_tokens=5, cache_write_tokens=7
    )
    assert t.cost_usd == pytest.approx(ra.cost_usd + rb.cost_usd)
    assert (t.calls, t.failures, len(ledger.rows)) == (2, 1, 2)


async def test_concurrency_limit_bounds_calls_in_flight(write_recording: WriteRecording) -> None:
    folder = write_recording([{"key": f"k{i}", "response": str(i)} for i in range(20)])
    slow = Latency(ScriptedProvider(folder), delay_s=0.05)
    client = LLMClient(slow, concurrency=3)
    answers = await asyncio.gather(*(client.complete(req(f"k{i}")) for i in range(20)))
    assert [a.text for a in answers] == [str(i) for i in range(20)]
    assert slow.max_in_flight == 3  # bounded, and the bound is actually used


async def test_rate_limit_spaces_out_requests(write_recording: WriteRecording) -> None:
    n = 25
    folder = write_recording([{"key": f"k{i}", "response": "x"} for i in range(n)])
    timed = Latency(ScriptedProvider(folder), delay_s=0.0)
    client = LLMClient(timed, requests_per_minute=600)  # 10/s, burst of 10
    started = time.monotonic()
    await asyncio.gather(*(client.complete(req(f"k{i}")) for i in range(n)))
    offsets = sorted(s - started for s in timed.starts)
    # The burst goes at once (bounds loose enough for a loaded machine; the pacing is the
    # lower bounds, which no amount of load can make pass wrongly).
    assert all(o < 1.0 for o in offsets[:10]), offsets
    # the other 15 leak out at 10 per second: the last about 1.5 s in
    assert 1.3 <= offsets[-1] <= 10.0, offsets
    assert offsets[15] >= 0.5, offsets


@pytest.mark.parametrize(
    ("rpm", "burst", "period"),
    [(1000, 17, 1.02), (600, 10, 1.0), (60, 1, 1.0), (30, 1, 2.0), (1, 1, 60.0)],
)
def test_rate_limiter_keeps_the_average_and_a_one_second_burst(
    rpm: int, burst: int, period: float
) -> None:
    limiter = rate_limiter(rpm)
    assert limiter.max_rate == burst
    assert limiter.time_period == pytest.approx(period)
    assert burst / limiter.time_period * 60 == pytest.approx(rpm)


def test_from_settings_takes_the_limits(write_recording: WriteRecording) -> None:
    folder = write_recording([])
    client = LLMClient.from_settings(
        ScriptedProvider(folder), Settings(llm_concurrency=7, llm_requests_per_minute=120)
    )
    assert (client.concurrency, client.requests_per_minute) == (7, 120)
    assert "ScriptedProvider" in repr(client)
