"""Search over the indexed shipped library: filters, ranking sanity, and recall@5 on the labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mge.config import Settings
from mge.errors import InputError
from mge.rag import Retriever
from mge.rag.evaluate import MIN_RECALL, evaluate, load_learned, load_queries, render
from mge.rag.patterns import DEFAULT_PATTERNS_DIR


@pytest.fixture
async def retriever(library_settings: Settings) -> Retriever:
    return await Retriever.open(library_settings)


@pytest.mark.parametrize("language", ["python", "typescript"])
async def test_language_filter(retriever: Retriever, language: str) -> None:
    hits = await retriever.search("validate the request body", k=10, language=language)
    assert len(hits) == 10
    assert {h.language for h in hits} == {language}


async def test_framework_filter_single_and_any_of(retriever: Retriever) -> None:
    react = await retriever.search("load data from the server", k=5, framework="react")
    assert react and {h.framework for h in react} == {"react"}
    mixed = await retriever.search(
        "handle errors", k=8, language="python", framework=["fastapi", "none"]
    )
    assert mixed and {h.framework for h in mixed} <= {"fastapi", "none"}
    assert {h.language for h in mixed} == {"python"}


async def test_filter_with_no_match_returns_nothing(retriever: Retriever) -> None:
    assert await retriever.search("anything", framework="no-such-framework") == []


async def test_hits_are_ranked_and_carry_code(retriever: Retriever) -> None:
    hits = await retriever.search("a circuit breaker that opens after repeated failures", k=3)
    assert hits[0].pattern_id == "py-circuit-breaker"
    assert hits[0].source == "patterns"
    assert "class CircuitBreaker" in hits[0].snippet
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert -1.0 <= hits[-1].score <= hits[0].score <= 1.0


async def test_k_larger_than_the_index_returns_all(retriever: Retriever) -> None:
    hits = await retriever.search("pattern", k=500, include_learned=False)
    assert len(hits) == await retriever.count("patterns")


@pytest.mark.parametrize(("query", "k"), [("   ", 5), ("retry", 0)])
async def test_bad_search_arguments(retriever: Retriever, query: str, k: int) -> None:
    with pytest.raises(InputError):
        await retriever.search(query, k=k)


async def test_recall_at_5_on_the_labelled_queries(retriever: Retriever) -> None:
    queries = load_queries()
    assert len(queries) >= 30
    report = await evaluate(retriever, DEFAULT_PATTERNS_DIR, queries, k=5)
    unfiltered = await evaluate(retriever, DEFAULT_PATTERNS_DIR, queries, k=5, use_filters=False)
    print("\n" + render(report))
    print(f"without filters: recall@5 {unfiltered.mean_recall:.3f}, MRR {unfiltered.mrr:.3f}")
    assert report.index.embedded == 0  # the session fixture already indexed the library
    assert report.mean_recall >= MIN_RECALL
    assert unfiltered.mean_recall >= MIN_RECALL


async def test_recall_at_5_with_learned_entries_and_no_tenancy_leak(
    library_settings: Settings, tmp_path: Path
) -> None:
    # A copy of the session's index: learning here must not change what other tests search.
    shutil.copytree(library_settings.workdir / "chroma", tmp_path / "chroma")
    retriever = await Retriever.open(Settings(workdir=tmp_path))
    learned = load_learned()
    assert len(learned.entries) >= 10 and any(q.forbid for q in learned.queries)
    report = await evaluate(retriever, DEFAULT_PATTERNS_DIR, load_queries(), k=5, learned=learned)
    print("\n" + render(report))
    assert report.leaks == 0  # a namespace never sees another's learned code
    assert report.learned_recall >= MIN_RECALL
    assert report.mean_recall >= MIN_RECALL  # learned code does not crowd the library out
