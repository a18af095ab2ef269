"""What a call cost: USD per million tokens for each Claude model, and the arithmetic.

Prices are Anthropic's list prices for the Claude API (USD per million tokens, "MTok"), as
published on the pricing and model pages in 2026-10/11. ``cache_write`` is the 5-minute cache
write, because the provider marks system blocks ``cache_control: ephemeral`` with the default
5-minute lifetime. Batch discounts and 1-hour cache writes are not used by MGE and not listed.

A model that is not in the table costs 0 and logs one warning per model name, so a new model
never breaks a run, but nobody mistakes its zero for a real price. Check the table against
https://platform.claude.com/docs/en/about-claude/pricing when models change.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from mge.models.execution import Usage

__all__ = [
    "PRICES",
    "PRICES_AS_OF",
    "LongPromptTier",
    "ModelPrice",
    "cost_usd",
    "price_for",
]

log = logging.getLogger(__name__)

PRICES_AS_OF = "2026-11"
"""When the table below was last checked against Anthropic's pricing page."""

TOKENS_PER_PRICE_UNIT = 1_000_000
"""Prices are quoted per million tokens."""

_DATED_SUFFIX = re.compile(r"-\d{8}$")
"""A dated snapshot id (``claude-haiku-4-5-20251001``) is priced as its alias."""


@dataclass(frozen=True)
class LongPromptTier:
    """Higher rates for a request whose whole prompt is longer than ``threshold_tokens``.

    The prompt counts input, cache-read and cache-write tokens. Above the threshold every token
    of that request, output included, is billed at ``price``.
    """

    threshold_tokens: int
    price: ModelPrice


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    long_prompt: LongPromptTier | None = None

    def cost(self, usage: Usage) -> float:
        """USD for one call's usage at these rates (the long-prompt tier applied if it fits)."""
        prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        rates = self
        if self.long_prompt is not None and prompt > self.long_prompt.threshold_tokens:
            rates = self.long_prompt.price
        micro_dollars = (
            usage.input_tokens * rates.input
            + usage.output_tokens * rates.output
            + usage.cache_read_tokens * rates.cache_read
            + usage.cache_write_tokens * rates.cache_write
        )
        return micro_dollars / TOKENS_PER_PRICE_UNIT


def _card(input_: float, output: float, cache_read: float) -> ModelPrice:
    """The usual card: a 5-minute cache write costs 1.25x input."""
    return ModelPrice(input_, output, cache_read, cache_write=input_ * 1.25)


_FABLE_5_1 = _card(10.0, 50.0, 0.25)
_FABLE_5 = _card(10.0, 50.0, 1.0)
_OPUS_5_5 = _card(4.0, 20.0, 0.20)
_OPUS_4_5_TO_5 = _card(5.0, 25.0, 0.50)
_OPUS_4 = _card(15.0, 75.0, 1.50)
_SONNET_5_5 = _card(2.0, 10.0, 0.10)  # cache reads cut from $0.20 on 2026-10-07
_SONNET_5 = _card(2.0, 10.0, 0.20)
_SONNET_4 = _card(3.0, 15.0, 0.30)
_HAIKU_5_5 = ModelPrice(
    0.10,
    0.50,
    cache_read=0.01,
    cache_write=0.125,
    long_prompt=LongPromptTier(100_000, ModelPrice(0.50, 2.50, cache_read=0.05, cache_write=0.625)),
)
_HAIKU_4_5 = _card(1.0, 5.0, 0.10)
_HAIKU_3 = ModelPrice(0.25, 1.25, cache_read=0.03, cache_write=0.30)

PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": _OPUS_5_5,
    "claude-opus-5": _OPUS_4_5_TO_5,
    "claude-opus-4-8": _OPUS_4_5_TO_5,
    "claude-opus-4-7": _OPUS_4_5_TO_5,
    "claude-opus-4-6": _OPUS_4_5_TO_5,
    "claude-opus-4-5": _OPUS_4_5_TO_5,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-sonnet-5-5": _SONNET_5_5,
    "claude-sonnet-5": _SONNET_5,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-haiku-5-5": _HAIKU_5_5,
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-3-haiku": _HAIKU_3,
}
"""USD per MTok by model id (aliases; dated snapshot ids are looked up without the date)."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


def price_for(model: str) -> ModelPrice | None:
    """The price card of ``model``: exact id first, then the id without a ``-YYYYMMDD`` date."""
    if model in PRICES:
        return PRICES[model]
    return PRICES.get(_DATED_SUFFIX.sub("", model))


def cost_usd(model: str, usage: Usage) -> float:
    """USD for one call; an unknown model costs 0 and warns once per model name."""
    price = price_for(model)
    if price is not None:
        return price.cost(usage)
    with _warned_lock:
        first = model not in _warned
        _warned.add(model)
    if first:
        log.warning(
            "no price known for model %r: its calls are counted as costing $0 "
            "(add it to mge.llm.pricing.PRICES)",
            model,
        )
    return 0.0
