"""Measurable requirements become performance criteria; speed requirements without a number
or a size become discovery questions (never a guessed budget)."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_support import example_discovery, write_recordings

from mge.discovery import apply_answers, discover
from mge.discovery.performance import (
    NOT_BENCHMARKED,
    Measured,
    Unmeasurable,
    parse_performance,
    performance_criteria,
    performance_questions,
)
from mge.llm.client import LLMClient
from mge.llm.scripted import ScriptedProvider
from mge.models.domain import AcceptanceCriterion
from mge.models.project import Hints


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("List 10,000 tasks in under 100 ms", Measured("list", 10_000, "tasks", 100.0)),
        (
            "Listing 10,000 tasks (the first page, newest first) takes under 50 ms.",
            Measured("listing", 10_000, "tasks", 50.0),
        ),
        (
            "Import a CSV of 50,000 rows within 1.5 seconds",
            Measured("import csv of", 50_000, "rows", 1500.0),
        ),
        ("Search 2k notes under a second", Measured("search", 2000, "notes", 1000.0)),
        (
            "AC-7: listing 10_000 tasks takes under 100ms",
            Measured("listing", 10_000, "tasks", 100.0),
        ),
        ("Resize 3 million pixels in 200 ms", Measured("resize", 3_000_000, "pixels", 200.0)),
        ("Import under 1 s", Unmeasurable(("size",))),
        ("Listing is fast", Unmeasurable(("budget", "size"))),
        ("Searching 5,000 notes must be quick", Unmeasurable(("budget",))),
        ("A task has a title of 1 to 200 characters", None),
        ("Timestamps are UTC, to the second", None),
        ("GET /tasks returns 404 for an unknown id", None),
        # A speed word inside an example value or code is not about speed.
        ("titleCase('the quick-brown fox') is 'The Quick-Brown Fox'.", None),
        ('`slowCount("a b")` returns 2', None),
        # An apostrophe opens no quotation.
        ("The owner's list isn't fast", Unmeasurable(("budget", "size"))),
    ],
)
def test_parse_performance(text: str, expected: Measured | Unmeasurable | None) -> None:
    assert parse_performance(text) == expected


def _with(*texts: str):  # type: ignore[no-untyped-def]
    base = example_discovery("tasks-api")
    acceptance = [AcceptanceCriterion(id=f"AC-{i + 1}", text=t) for i, t in enumerate(texts)]
    return base.model_copy(update={"acceptance": acceptance, "questions": base.questions[:2]})


def test_an_unmeasurable_criterion_becomes_a_question_naming_what_is_missing() -> None:
    result = performance_questions(_with("Create a task", "Import under 1 s", "Listing is fast"))
    added = result.questions[2:]
    assert [q.id for q in added] == ["Q-3", "Q-4"]
    assert added[0].text.startswith("AC-2 (\u201cImport under 1 s\u201d)")
    assert "without size" in added[0].text and "10,000 tasks" in added[0].text
    assert "without budget and size" in added[1].text
    assert all(q.default == NOT_BENCHMARKED for q in added)
    # asking twice adds nothing
    assert performance_questions(result).questions == result.questions


def test_criteria_come_from_measurable_text_or_from_the_answer() -> None:
    result = performance_questions(
        _with("List 10,000 tasks in under 50 ms", "Import under 1 s", "Listing is fast")
    )
    criteria, open_ = performance_criteria(result)
    assert [c.describe() for c in criteria] == ["AC-1: list 10,000 tasks within 50 ms"]
    assert len(open_) == 2 and open_[0].startswith("AC-2 is about speed but has no size")

    answered = apply_answers(result, {"Q-3": "10,000 rows"})
    criteria, open_ = performance_criteria(answered)
    assert [c.describe() for c in criteria] == [
        "AC-1: list 10,000 tasks within 50 ms",
        "AC-2: import 10,000 rows within 1000 ms",
    ]
    assert open_ == [
        "AC-3 is about speed but has no budget or size (\u201cListing is fast\u201d); "
        "answer its discovery question to benchmark it"
    ]
    # the unanswered default is written down as an assumption, not a guessed number
    assert any("Q-4" in a and NOT_BENCHMARKED in a for a in answered.assumptions)


async def test_discover_asks_for_the_missing_number(tmp_path: Path) -> None:
    good = _with("Create a task", "Listing is fast")
    client = LLMClient(
        ScriptedProvider(
            write_recordings(tmp_path, [("discovery", good.model_dump_json(by_alias=True))])
        )
    )
    result = await discover("Build a tasks service, please.", Hints(), client)
    assert [q.id for q in result.questions] == ["Q-1", "Q-2", "Q-3"]
    assert result.questions[-1].text.startswith("AC-2 (\u201cListing is fast\u201d) is a perf")


def test_the_tasks_api_example_has_two_measurable_criteria() -> None:
    criteria, open_ = performance_criteria(example_discovery("tasks-api"))
    assert [c.describe() for c in criteria] == [
        "AC-9: listing 10,000 tasks within 50 ms",
        "AC-10: adding 2,000 tasks within 50 ms",
    ]
    assert open_ == []
