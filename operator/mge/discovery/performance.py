"""Measurable requirements → performance criteria; unmeasurable ones → discovery questions.

Pure. :func:`parse_performance` reads one acceptance criterion: "list 10,000 tasks in under
50 ms" is an operation (``list``), an input size (10,000 ``tasks``) and a budget (50 ms). A
criterion that speaks about speed ("listing is fast", "import under 1 s") but lacks the number
or the size is not guessed at: :func:`performance_questions` asks for what is missing, with
"not benchmarked" as the default, and :func:`performance_criteria` builds the criterion from
the answer when one is given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mge.models.domain import AcceptanceCriterion, DiscoveryResult, Question
from mge.models.performance import PerformanceCriterion

__all__ = [
    "NOT_BENCHMARKED",
    "Measured",
    "Unmeasurable",
    "parse_performance",
    "performance_criteria",
    "performance_questions",
]

NOT_BENCHMARKED = "not benchmarked"
"""Default answer of a performance question: with no number, nothing is measured."""
QUESTION_MARK = "is a performance requirement without"
"""Words every performance question carries (how an answer finds its criterion)."""

_UNITS_MS = {
    "ms": 1.0,
    "msec": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "s": 1000.0,
    "sec": 1000.0,
    "secs": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
    "µs": 0.001,
    "us": 0.001,
    "microsecond": 0.001,
    "microseconds": 0.001,
}
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
_NUMBER = r"\d[\d,_]*(?:\.\d+)?"
_UNIT = r"(?:ms|msec|milliseconds?|µs|us|microseconds?|secs?|seconds?|s)"
_BUDGET = re.compile(
    r"\b(?P<bound>under|below|within|in less than|less than|at most|no more than|faster than"
    r"|in|takes?|<=?)\s+(?:(?P<number>" + _NUMBER + r")|(?P<article>an?|one))\s*"
    r"(?P<unit>" + _UNIT + r")\b",
    re.I,
)
_BARE_DURATION = re.compile(r"(?<![\w.])(?P<number>" + _NUMBER + r")\s*(?P<unit>" + _UNIT + r")\b")
_SIZE = re.compile(
    r"(?<![\w.])(?P<number>" + _NUMBER + r")\s*(?P<mult>k|thousand|million|m)?\s+"
    r"(?P<unit>[A-Za-z][\w-]*)",
    re.I,
)
_SPEED_WORDS = re.compile(
    r"\b(fast|faster|quick|quickly|latency|performance|performant|responsive|speed|slow|"
    r"throughput)\b",
    re.I,
)
_QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"|‘[^’]*’|“[^”]*”|`[^`]*`")
"""Quoted text and code: an example value such as ``titleCase('the quick fox')`` says
nothing about speed."""
_FILLER = frozenset(
    {"must", "should", "can", "shall", "will", "be", "able", "to", "the", "service", "it", "a"}
)


@dataclass(frozen=True)
class Measured:
    """A criterion with every number: what is timed, on how much, within how long."""

    operation: str
    size: int
    unit: str
    budget_ms: float


@dataclass(frozen=True)
class Unmeasurable:
    """A criterion about speed that lacks a budget, a size, or both."""

    missing: tuple[str, ...]
    """``budget`` and/or ``size``."""


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("_", ""))


def _operation(prefix: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][\w-]*", prefix.lower()) if w not in _FILLER]
    words = [w for w in words if not re.fullmatch(r"ac-?\d+", w)]
    return " ".join(words[-4:]) or "run"


def parse_performance(text: str) -> Measured | Unmeasurable | None:
    """Read one criterion: Measured, Unmeasurable (it is about speed but a number or the
    size is missing), or None (not a performance requirement)."""
    budget = _BUDGET.search(text)
    duration = budget or _BARE_DURATION.search(text)
    about_speed = _SPEED_WORDS.search(_QUOTED.sub(" ", text)) is not None
    if duration is None and not about_speed:
        return None
    budget_ms: float | None = None
    taken: tuple[int, int] = (-1, -1)
    if budget is not None:
        unit = budget.group("unit").lower()
        value = _number(budget.group("number")) if budget.group("number") else 1.0
        budget_ms = value * _UNITS_MS[unit]
        taken = budget.span()
    elif duration is not None and about_speed:
        budget_ms = _number(duration.group("number")) * _UNITS_MS[duration.group("unit").lower()]
        taken = duration.span()
    elif duration is not None:
        return None
    size: tuple[int, str, int] | None = None
    for m in _SIZE.finditer(text):
        if taken[0] <= m.start() < taken[1] or m.group("unit").lower() in _UNITS_MS:
            continue
        mult = _MULTIPLIERS.get((m.group("mult") or "").lower(), 1)
        size = (int(_number(m.group("number")) * mult), m.group("unit").lower(), m.start())
        break
    missing = tuple(what for what, have in (("budget", budget_ms), ("size", size)) if have is None)
    if missing or budget_ms is None or size is None or budget_ms <= 0 or size[0] < 1:
        return Unmeasurable(missing or ("budget",))
    prefix = text[: size[2]]
    if taken[0] < size[2]:
        prefix = text[: taken[0]] + text[taken[1] : size[2]] if taken[1] <= size[2] else prefix
    return Measured(operation=_operation(prefix), size=size[0], unit=size[1], budget_ms=budget_ms)


def _ask(criterion: AcceptanceCriterion, missing: Sequence[str]) -> str:
    wanted = {
        "budget": "the time one run may take (e.g. 'under 100 ms')",
        "size": "the input size it must hold for (e.g. '10,000 tasks')",
    }
    return (
        f"{criterion.id} (\u201c{criterion.text}\u201d) {QUESTION_MARK} "
        f"{' and '.join(missing)}: give {' and '.join(wanted[m] for m in missing)}."
    )


def performance_questions(result: DiscoveryResult) -> DiscoveryResult:
    """``result`` with a question for each speed requirement that lacks a number or a size
    (none twice; numbered after the existing questions). Default: not benchmarked."""
    asked = {q.text.split(" ", 1)[0] for q in result.questions if QUESTION_MARK in q.text}
    taken = [int(q.id[2:]) for q in result.questions]
    next_id = max(taken, default=0) + 1
    added = []
    for ac in result.acceptance:
        parsed = parse_performance(ac.text)
        if isinstance(parsed, Unmeasurable) and ac.id not in asked:
            added.append(
                Question(id=f"Q-{next_id}", text=_ask(ac, parsed.missing), default=NOT_BENCHMARKED)
            )
            next_id += 1
    if not added:
        return result
    return result.model_copy(update={"questions": [*result.questions, *added]})


def performance_criteria(
    result: DiscoveryResult,
) -> tuple[list[PerformanceCriterion], list[str]]:
    """The measurable criteria of ``result``, and a sentence per speed requirement that
    stays unmeasured (its question unanswered or answered without the number)."""
    answers = {
        q.text.split(" ", 1)[0]: q.answer
        for q in result.questions
        if QUESTION_MARK in q.text and q.answer and q.answer.strip().lower() != NOT_BENCHMARKED
    }
    criteria: list[PerformanceCriterion] = []
    open_: list[str] = []
    for ac in result.acceptance:
        parsed = parse_performance(ac.text)
        if isinstance(parsed, Unmeasurable) and ac.id in answers:
            parsed = parse_performance(f"{ac.text} {answers[ac.id]}")
        if isinstance(parsed, Measured):
            criteria.append(
                PerformanceCriterion(
                    id=ac.id,
                    text=ac.text,
                    operation=parsed.operation,
                    size=parsed.size,
                    unit=parsed.unit,
                    budget_ms=parsed.budget_ms,
                )
            )
        elif isinstance(parsed, Unmeasurable):
            open_.append(
                f"{ac.id} is about speed but has no {' or '.join(parsed.missing)} "
                f"(\u201c{ac.text}\u201d); answer its discovery question to benchmark it"
            )
    return criteria, open_
