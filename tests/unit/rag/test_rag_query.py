"""Search helpers: where-filters, turning Chroma answers into hits, merging collections."""

from __future__ import annotations

from typing import Any

import pytest

from mge.rag.query import Hit, build_where, hits_from_result, merge_hits


@pytest.mark.parametrize(
    ("language", "framework", "where"),
    [
        (None, None, None),
        ("python", None, {"language": "python"}),
        (None, "react", {"framework": "react"}),
        (None, [], None),
        (None, ["react"], {"framework": "react"}),
        (None, ["fastapi", "none"], {"framework": {"$in": ["fastapi", "none"]}}),
        (
            "python",
            "fastapi",
            {"$and": [{"language": "python"}, {"framework": "fastapi"}]},
        ),
    ],
)
def test_build_where(language: str | None, framework: Any, where: dict[str, Any] | None) -> None:
    assert build_where(language, framework) == where


def test_hits_from_result_turns_distance_into_similarity() -> None:
    result = {
        "ids": [["p1", "p2"]],
        "distances": [[0.1, 0.75]],
        "metadatas": [
            [
                {
                    "title": "One",
                    "snippet": "code1",
                    "language": "python",
                    "framework": "none",
                    "kind": "retry",
                },
                None,
            ]
        ],
    }
    one, two = hits_from_result(result, "patterns")
    assert one.score == pytest.approx(0.9)
    assert one.model_copy(update={"score": 0.9}) == Hit(
        pattern_id="p1",
        score=0.9,
        title="One",
        snippet="code1",
        source="patterns",
        language="python",
        framework="none",
        kind="retry",
        entry_id="p1",
    )
    assert (two.pattern_id, two.title) == ("p2", "p2")
    assert two.score == pytest.approx(0.25)


def test_learned_hits_report_the_atom_id() -> None:
    result = {
        "ids": [["atom-x-123"]],
        "distances": [[0.2]],
        "metadatas": [[{"atom_id": "atom-x", "title": "f"}]],
    }
    (hit,) = hits_from_result(result, "learned")
    assert (hit.pattern_id, hit.source) == ("atom-x", "learned")


def test_empty_result_gives_no_hits() -> None:
    assert hits_from_result({"ids": [[]], "distances": [[]], "metadatas": [[]]}, "patterns") == []


def _hit(pid: str, score: float, source: Any) -> Hit:
    return Hit(
        pattern_id=pid,
        score=score,
        title=pid,
        snippet="",
        source=source,
        language="python",
        framework="none",
        kind="k",
    )


def test_merge_keeps_best_k_across_collections() -> None:
    patterns = [_hit("a", 0.9, "patterns"), _hit("b", 0.5, "patterns")]
    learned = [_hit("c", 0.7, "learned"), _hit("d", 0.9, "learned")]
    merged = merge_hits([patterns, learned], k=3)
    assert [(h.pattern_id, h.source) for h in merged] == [
        ("a", "patterns"),
        ("d", "learned"),
        ("c", "learned"),
    ]
