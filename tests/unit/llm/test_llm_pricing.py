"""Pricing math: hand-computed costs, dated ids, the long-prompt tier, unknown models."""

from __future__ import annotations

import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mge.llm.pricing import PRICES, cost_usd, price_for
from mge.models.execution import Usage

tokens = st.integers(min_value=0, max_value=50_000)
usages = st.builds(
    Usage,
    input_tokens=tokens,
    output_tokens=tokens,
    cache_read_tokens=tokens,
    cache_write_tokens=tokens,
)


def test_one_million_input_tokens_cost_the_list_price() -> None:
    assert cost_usd("claude-sonnet-4-5", Usage(input_tokens=1_000_000)) == pytest.approx(3.0)
    assert cost_usd("claude-opus-4-1", Usage(output_tokens=1_000_000)) == pytest.approx(75.0)


def test_mixed_usage_is_priced_per_kind() -> None:
    # Sonnet 5.5: $2 in, $10 out, $0.10 cache read, $2.50 cache write (per MTok).
    usage = Usage(
        input_tokens=1000, output_tokens=2000, cache_read_tokens=10_000, cache_write_tokens=500
    )
    expected = (1000 * 2 + 2000 * 10 + 10_000 * 0.10 + 500 * 2.50) / 1e6
    assert cost_usd("claude-sonnet-5-5", usage) == pytest.approx(expected)
    assert expected == pytest.approx(0.02425)


def test_a_dated_snapshot_is_priced_as_its_alias() -> None:
    assert price_for("claude-haiku-4-5-20251001") == price_for("claude-haiku-4-5")
    assert price_for("claude-3-haiku-20240307") is not None


def test_haiku_5_5_long_prompt_tier_applies_to_every_token_of_the_request() -> None:
    at_threshold = Usage(input_tokens=90_000, cache_read_tokens=10_000, output_tokens=1000)
    over = Usage(input_tokens=90_001, cache_read_tokens=10_000, output_tokens=1000)
    low = (90_000 * 0.10 + 10_000 * 0.01 + 1000 * 0.50) / 1e6
    high = (90_001 * 0.50 + 10_000 * 0.05 + 1000 * 2.50) / 1e6
    assert cost_usd("claude-haiku-5-5", at_threshold) == pytest.approx(low)
    assert cost_usd("claude-haiku-5-5", over) == pytest.approx(high)


def test_unknown_model_costs_nothing_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    model = f"claude-imaginary-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING, logger="mge.llm.pricing"):
        assert cost_usd(model, Usage(input_tokens=10_000, output_tokens=10_000)) == 0.0
        assert cost_usd(model, Usage(input_tokens=5)) == 0.0
    warnings = [r for r in caplog.records if model in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("model", sorted(PRICES))
def test_every_card_is_ordered_like_anthropic_prices(model: str) -> None:
    """Cache reads are cheapest, output dearest, a cache write costs at least an input token:
    a typo in the table (a swapped column, a missing digit) breaks one of these."""
    p = PRICES[model]
    assert 0 < p.cache_read < p.input <= p.cache_write < p.output


@given(
    a=usages,
    b=usages,
    model=st.sampled_from(sorted(m for m, p in PRICES.items() if not p.long_prompt)),
)
def test_cost_is_additive_over_calls(a: Usage, b: Usage, model: str) -> None:
    assert cost_usd(model, a + b) == pytest.approx(cost_usd(model, a) + cost_usd(model, b))
