"""Retrieved implementation patterns as the planner sees them, and how it asks for them.

Planning does not import the retrieval stage: it takes any async ``source(query)`` that returns
objects with ``pattern_id``, ``title`` and ``snippet`` (a retrieval hit fits as it is). That keeps
the planner testable without a vector index and lets the pipeline choose the index.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mge.models.domain import DiscoveryResult

__all__ = [
    "MAX_PATTERNS",
    "MAX_QUERIES",
    "SNIPPET_CHARS",
    "PatternLike",
    "PatternRef",
    "PatternSource",
    "gather_patterns",
    "merge_hits",
    "pattern_queries",
    "render_patterns",
]

MAX_QUERIES = 12
"""Queries sent per plan: enough for the stack, services, aggregates and a few criteria."""

MAX_PATTERNS = 10
"""Patterns offered to the planner at most; more would crowd the prompt without helping."""

SNIPPET_CHARS = 600
"""Characters of each pattern's excerpt put into the prompt."""


_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")


class PatternLike(Protocol):
    """Anything with a pattern id, a title and an excerpt (e.g. a retrieval hit)."""

    @property
    def pattern_id(self) -> str:
        """Stable id of the pattern, e.g. ``py-repository-inmemory``."""
        ...

    @property
    def title(self) -> str:
        """One-line title."""
        ...

    @property
    def snippet(self) -> str:
        """An excerpt of the pattern (code or prose)."""
        ...


@dataclass(frozen=True)
class PatternRef:
    """A pattern offered to the planner."""

    pattern_id: str
    title: str
    snippet: str = ""


class PatternSource(Protocol):
    """Returns the patterns that best match one query, best first."""

    async def __call__(self, query: str) -> Sequence[PatternLike]:
        """Search; an empty sequence when nothing fits."""
        ...


def _operation_names(operations: Sequence[str]) -> str:
    """``["reserve(sku: str) -> X", "ship"]`` → ``"reserve, ship"``: signatures drown the
    meaning in an embedding, names carry it."""
    names = [m.group(1) for op in operations if (m := _NAME.match(op))]
    return ", ".join(dict.fromkeys(names))


def pattern_queries(discovery: DiscoveryResult, limit: int = MAX_QUERIES) -> list[str]:
    """Search queries for the patterns a plan of ``discovery`` may follow (pure, deterministic).

    In order of usefulness: the stack; each domain service by kind (repository or service
    layer) with its operation names; each aggregate root; value objects; domain events; then
    acceptance criteria. Duplicates dropped, at most ``limit``.
    """
    stack = discovery.stack
    queries = [
        " ".join(p for p in (stack.language, stack.framework, "project layout and testing") if p)
    ]
    for ctx in discovery.domain.contexts:
        for svc in ctx.services:
            kind = "repository" if "repositor" in svc.name.lower() else "service layer"
            ops = _operation_names(svc.operations)
            queries.append(f"{kind} {svc.name}" + (f": {ops}" if ops else ""))
        for agg in ctx.aggregates:
            queries.append(f"aggregate root {agg.root} keeping its invariants consistent")
        for vo in ctx.value_objects:
            queries.append(f"immutable value object {vo.name}")
        if ctx.events:
            names = ", ".join(e.name for e in ctx.events)
            queries.append(f"domain events published to subscribers: {names}")
    queries += [ac.text for ac in discovery.acceptance]
    unique = list(dict.fromkeys(q.strip() for q in queries if q.strip()))
    return unique[:limit]


def merge_hits(
    results: Sequence[Sequence[PatternLike]], limit: int = MAX_PATTERNS
) -> list[PatternRef]:
    """Merge per-query results round-robin by rank, dropping repeats, keeping at most ``limit``.

    Round-robin gives each query's best hit a place before any query's second best, so one
    broad query cannot fill every slot.
    """
    seen: set[str] = set()
    merged: list[PatternRef] = []
    depth = max((len(r) for r in results), default=0)
    for rank in range(depth):
        for hits in results:
            if rank >= len(hits):
                continue
            hit = hits[rank]
            if hit.pattern_id in seen:
                continue
            seen.add(hit.pattern_id)
            merged.append(PatternRef(hit.pattern_id, hit.title, hit.snippet))
            if len(merged) >= limit:
                return merged
    return merged


async def gather_patterns(
    discovery: DiscoveryResult,
    source: PatternSource,
    *,
    limit: int = MAX_PATTERNS,
) -> list[PatternRef]:
    """Ask ``source`` every query of :func:`pattern_queries` at once and merge the answers."""
    queries = pattern_queries(discovery)
    results = await asyncio.gather(*(source(q) for q in queries))
    return merge_hits(results, limit)


def render_patterns(patterns: Sequence[PatternLike], snippet_chars: int = SNIPPET_CHARS) -> str:
    """The patterns as prompt text: ``- id: title`` and an indented excerpt; a note when none."""
    if not patterns:
        return "(none retrieved: plan from the domain model alone and leave patternsUsed empty)"
    blocks = []
    for p in patterns:
        excerpt = p.snippet.strip()
        if len(excerpt) > snippet_chars:
            excerpt = excerpt[:snippet_chars].rstrip() + " …"
        body = "\n".join(f"    {line}" for line in excerpt.splitlines())
        blocks.append(f"- {p.pattern_id}: {p.title}" + (f"\n{body}" if body else ""))
    return "\n".join(blocks)
