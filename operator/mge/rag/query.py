"""Pure helpers for search: metadata filters, and turning Chroma's answer into hits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Hit",
    "HitSource",
    "and_where",
    "build_where",
    "hits_from_result",
    "merge_hits",
    "namespace_clause",
]

HitSource = Literal["patterns", "learned"]


class Hit(BaseModel):
    """One search result. ``source`` says which collection it came from.

    For a pattern, ``pattern_id`` is the pattern's id; for a learned entry it is the atom id the
    code was learned from.
    """

    model_config = ConfigDict(frozen=True)

    pattern_id: str
    score: float = Field(description="Cosine similarity to the query, -1..1 (higher is closer).")
    title: str
    snippet: str = Field(description="The code to show a generator as an example.")
    source: HitSource
    language: str
    framework: str
    kind: str
    entry_id: str = Field(default="", description="The Chroma entry id (a learned entry's scope).")
    project: str = Field(default="", description="Learned entries: the project that taught it.")
    namespace: str = Field(default="", description="Learned entries: that project's namespace.")


def _clause(key: str, value: str | Sequence[str]) -> dict[str, Any]:
    if isinstance(value, str):
        return {key: value}
    values = list(value)
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}


def build_where(
    language: str | None = None, framework: str | Sequence[str] | None = None
) -> dict[str, Any] | None:
    """Chroma ``where`` filter on language and framework(s); None when there is nothing to filter.

    ``framework`` may be a list, matched as any-of (e.g. ``["fastapi", "none"]`` for FastAPI
    patterns plus framework-free ones).
    """
    clauses = []
    if language is not None:
        clauses.append(_clause("language", language))
    if framework is not None and (isinstance(framework, str) or len(framework) > 0):
        clauses.append(_clause("framework", framework))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def namespace_clause(namespaces: Sequence[str]) -> dict[str, Any]:
    """Filter on the namespace a learned entry was learned in (any of ``namespaces``)."""
    return _clause("namespace", list(namespaces))


def and_where(where: dict[str, Any] | None, clause: dict[str, Any]) -> dict[str, Any]:
    """``where`` and ``clause`` together (``clause`` alone when there is no ``where``)."""
    if where is None:
        return clause
    existing = where["$and"] if set(where) == {"$and"} else [where]
    return {"$and": [*existing, clause]}


def hits_from_result(result: Mapping[str, Any], source: HitSource) -> list[Hit]:
    """Hits from a Chroma ``query`` result for a single query embedding."""
    ids: list[str] = (result.get("ids") or [[]])[0]
    distances: list[float] = (result.get("distances") or [[]])[0]
    metadatas: list[Mapping[str, Any] | None] = (result.get("metadatas") or [[]])[0]
    hits = []
    for entry_id, distance, meta in zip(ids, distances, metadatas, strict=True):
        m = meta or {}
        hits.append(
            Hit(
                pattern_id=str(m.get("atom_id", entry_id)) if source == "learned" else entry_id,
                entry_id=entry_id,
                project=str(m.get("project", "")),
                namespace=str(m.get("namespace", "")),
                score=1.0 - float(distance),
                title=str(m.get("title", entry_id)),
                snippet=str(m.get("snippet", "")),
                source=source,
                language=str(m.get("language", "")),
                framework=str(m.get("framework", "none")),
                kind=str(m.get("kind", "")),
            )
        )
    return hits


def merge_hits(groups: Iterable[Sequence[Hit]], k: int) -> list[Hit]:
    """The ``k`` best hits over several collections, best first (ties keep pattern hits first)."""
    order = {"patterns": 0, "learned": 1}
    merged = [h for group in groups for h in group]
    merged.sort(key=lambda h: (-h.score, order[h.source]))
    return merged[:k]
