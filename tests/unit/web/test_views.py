"""The JSON views of the review interface (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from mge.models.execution import Attempt, CheckResult, ValidationResult
from mge.models.review import ConfidenceParts, ReviewItem
from mge.web.live import changed_projects
from mge.web.views import failures_by_level, item_version, queue_view


def item(atom: str, score: float, decision: str = "pending") -> ReviewItem:
    return ReviewItem(
        atom_id=atom,
        reason="low_confidence",
        code=f"def {atom}(): ...",
        confidence=ConfidenceParts(
            validation=score, attempts=score, complexity=score, integration=score
        ),
        context_summary=f"pkg/{atom}.py · {atom}\nmore",
        decision=decision,  # type: ignore[arg-type]
    )


def test_queue_is_least_confident_first_and_filtered_by_state() -> None:
    items = [item("b", 0.5), item("a", 0.5), item("c", 0.2), item("d", 0.1, "approve")]
    assert [r["atom"] for r in queue_view(items, "pending")] == ["c", "a", "b"]
    assert [r["atom"] for r in queue_view(items, "decided")] == ["d"]
    assert [r["atom"] for r in queue_view(items, "all")] == ["d", "c", "a", "b"]
    row = queue_view(items, "pending")[0]
    assert row["where"] == "pkg/c.py · c"
    assert set(row["confidence"]) == {
        "score",
        "validation",
        "attempts",
        "complexity",
        "integration",
    }


def test_the_version_changes_with_what_a_reviewer_decides_on() -> None:
    one = item("a", 0.5)
    assert item_version(one) == item_version(item("a", 0.5))
    assert item_version(one) != item_version(one.model_copy(update={"code": "x"}))
    decided = one.model_copy(update={"decision": "approve", "decided_at": datetime.now(UTC)})
    assert item_version(one) != item_version(decided)


def test_failures_are_listed_by_level_with_where_they_were_seen() -> None:
    attempts = [
        Attempt(
            atom_id="a",
            number=1,
            temperature=0.7,
            prompt_hash="h",
            code="x",
            validation=ValidationResult(
                level="L1",
                subject="a",
                passed=False,
                checks=[
                    CheckResult(name="parse", passed=True),
                    CheckResult(name="types", passed=False, detail="bad return"),
                ],
            ),
        ),
        Attempt(atom_id="a", number=2, temperature=0.5, prompt_hash="h", code="", error="boom"),
    ]
    later = [
        ValidationResult(
            level="L2",
            subject="a",
            passed=False,
            checks=[CheckResult(name="tests", passed=False, detail="E assert")],
        )
    ]
    assert failures_by_level(attempts, later) == [
        {"level": "L1", "check": "types", "detail": "bad return", "where": "attempt 1"},
        {"level": "", "check": "generation", "detail": "boom", "where": "attempt 2"},
        {"level": "L2", "check": "tests", "detail": "E assert", "where": "a"},
    ]


def test_changed_projects_are_those_whose_mark_moved() -> None:
    assert changed_projects({"a": "1", "b": "1"}, {"a": "1", "b": "2", "c": "1"}) == ["b", "c"]
    assert changed_projects({"a": "1"}, {}) == ["a"]
    assert changed_projects({"a": "1"}, {"a": "1"}) == []
