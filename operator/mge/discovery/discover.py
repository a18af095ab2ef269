"""Phase 0, discovery: requirements → a DDD model, stack, acceptance criteria and questions.

The requirements are checked before any LLM call; the answer is parsed into
:class:`~mge.models.domain.DiscoveryResult` by the LLM client (with its one repair round) and then
checked for consistency here. The result is returned, not stored: persisting is the caller's job.
"""

from __future__ import annotations

import json

from mge.discovery.checks import discovery_problems
from mge.discovery.performance import performance_questions
from mge.discovery.requirements import validate_requirements
from mge.errors import StructuredOutputError
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient
from mge.models.domain import DiscoveryResult
from mge.models.project import Hints
from mge.prompts import load

__all__ = [
    "DISCOVERY_KEY",
    "DISCOVERY_MAX_TOKENS",
    "DISCOVERY_TEMPERATURE",
    "build_discovery_request",
    "discover",
]

DISCOVERY_KEY = "discovery"
"""Logical key of the discovery call (recordings and logs use it)."""

DISCOVERY_TEMPERATURE = 0.2
"""Low: discovery should be the same model of the domain each time, not a creative one."""

DISCOVERY_MAX_TOKENS = 8_000
"""Room for a service-sized domain model (a small library needs about 1,500 tokens)."""

_PROMPT = "discovery"


def build_discovery_request(requirements: str, hints: Hints) -> LLMRequest:
    """The discovery request for already validated ``requirements`` (pure).

    The stable part (instructions and the output's JSON schema) goes first so that provider
    prompt caching covers it; the requirements and hints follow.
    """
    template = load(_PROMPT)
    schema = json.dumps(DiscoveryResult.model_json_schema(by_alias=True), indent=1)
    constraints = "\n".join(f"- {c}" for c in hints.constraints) or "- none given"
    system, prompt = template.render(
        schema=schema,
        language=hints.language,
        framework=hints.framework or "none given (choose only if the requirements need one)",
        constraints=constraints,
        requirements=requirements,
    )
    return LLMRequest(
        key=DISCOVERY_KEY,
        system=(system,),
        prompt=prompt,
        temperature=DISCOVERY_TEMPERATURE,
        max_tokens=DISCOVERY_MAX_TOKENS,
    )


async def discover(
    requirements: str | None,
    hints: Hints,
    llm: LLMClient,
    *,
    project: str | None = None,
) -> DiscoveryResult:
    """Turn ``requirements`` into a checked :class:`DiscoveryResult`.

    Raises InputError for unusable requirements (before any LLM call), the LLM client's
    errors for a failed call, and StructuredOutputError when the answer parses but contradicts
    itself (duplicate ids, aggregates over unknown entities, the wrong language). A criterion
    about speed without a number or an input size gets a question (see
    :mod:`mge.discovery.performance`): it is asked, not guessed.
    ``project`` names the project in the cost ledger.
    """
    text = validate_requirements(requirements)
    request = build_discovery_request(text, hints)
    result, _response = await llm.complete_structured(request, DiscoveryResult, project=project)
    problems = discovery_problems(result, hints)
    if problems:
        raise StructuredOutputError(
            "the discovery answer is inconsistent:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return performance_questions(result)
