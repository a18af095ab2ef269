"""Pattern queries, merging of retrieval hits, and how patterns read in the prompt."""

from __future__ import annotations

from collections.abc import Sequence

from planning_support import small_discovery

from mge.models.domain import Aggregate, DomainModel, DomainService
from mge.planning import (
    PatternLike,
    PatternRef,
    gather_patterns,
    merge_hits,
    pattern_queries,
    render_patterns,
)
from mge.planning.patterns import MAX_QUERIES


def test_queries_start_with_the_stack_then_the_model_then_criteria() -> None:
    queries = pattern_queries(small_discovery())
    assert queries == [
        "python project layout and testing",
        "service layer Shop: sell",  # operation names, not signatures
        "immutable value object Money",
        "domain events published to subscribers: Sold",
        "criterion 1",
        "criterion 2",
    ]


def test_repositories_and_aggregates_are_asked_for_by_kind() -> None:
    d = small_discovery()
    ctx = d.domain.contexts[0].model_copy(
        update={
            "services": [
                DomainService(name="OrderRepository", operations=["add(o)", "get(id)", "add(o2)"])
            ],
            "aggregates": [Aggregate(name="Order", root="E1")],
        }
    )
    queries = pattern_queries(d.model_copy(update={"domain": DomainModel(contexts=[ctx])}))
    assert queries[1:3] == [
        "repository OrderRepository: add, get",
        "aggregate root E1 keeping its invariants consistent",
    ]


def test_queries_are_unique_and_capped() -> None:
    queries = pattern_queries(small_discovery(criteria=40))
    assert len(queries) == MAX_QUERIES
    assert len(set(queries)) == len(queries)


def test_merge_is_round_robin_by_rank_without_repeats() -> None:
    a = [PatternRef("a1", "A1"), PatternRef("shared", "S"), PatternRef("a3", "A3")]
    b = [PatternRef("shared", "S"), PatternRef("b2", "B2")]
    merged = merge_hits([a, b], limit=10)
    assert [p.pattern_id for p in merged] == ["a1", "shared", "b2", "a3"]
    assert [p.pattern_id for p in merge_hits([a, b], limit=2)] == ["a1", "shared"]
    assert merge_hits([], limit=3) == []


async def test_gather_asks_every_query_and_merges() -> None:
    asked: list[str] = []

    async def source(query: str) -> Sequence[PatternLike]:
        asked.append(query)
        slug = query.split()[0].lower().strip(":")
        return [PatternRef(f"py-{slug}", query, "code")]

    d = small_discovery()
    patterns = await gather_patterns(d, source, limit=3)
    assert sorted(asked) == sorted(pattern_queries(d))
    assert [p.pattern_id for p in patterns] == ["py-python", "py-service", "py-immutable"]


def test_render_cuts_long_snippets_and_says_when_there_are_none() -> None:
    text = render_patterns(
        [PatternRef("py-x", "X things", "line1\n" + "y" * 1000)], snippet_chars=20
    )
    lines = text.splitlines()
    assert lines[0] == "- py-x: X things"
    assert lines[1] == "    line1"
    assert lines[2].endswith(" …") and len(lines[2]) < 40
    assert "none retrieved" in render_patterns([])
