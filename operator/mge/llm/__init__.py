"""The LLM layer: one client in front of one provider, with cache, limits, costs and totals.

Stages call::

    client = LLMClient(make_provider(spec.llm, settings, recordings_dir), cache=store,
                       ledger=store, concurrency=..., requests_per_minute=...)
    response = await client.complete(LLMRequest(key="plan", system=(...), prompt="..."))
    plan, response = await client.complete_structured(request, Masterplan)
    code = extract_code(response.text, "python")

``AnthropicProvider`` is imported on first use only (the SDK takes about a second to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mge.llm.base import CostLedger, LLMRequest, LLMResponse, Provider, ResponseCache
from mge.llm.client import LLMClient, Totals
from mge.llm.factory import make_provider
from mge.llm.pricing import ModelPrice, cost_usd, price_for
from mge.llm.scripted import ScriptedProvider
from mge.llm.structured import extract_code, extract_json

if TYPE_CHECKING:
    from mge.llm.anthropic_provider import AnthropicProvider

__all__ = [
    "AnthropicProvider",
    "CostLedger",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "ModelPrice",
    "Provider",
    "ResponseCache",
    "ScriptedProvider",
    "Totals",
    "cost_usd",
    "extract_code",
    "extract_json",
    "make_provider",
    "price_for",
]


def __getattr__(name: str) -> Any:
    if name == "AnthropicProvider":
        from mge.llm.anthropic_provider import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
