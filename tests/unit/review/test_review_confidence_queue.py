"""Confidence parts and review queue selection (pure), plus approve."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mge.execution.state import AtomProgress, MemoryJournal
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import Attempt, CheckResult, ValidationResult
from mge.models.review import WEIGHTS, ConfidenceParts, ReviewItem
from mge.review.confidence import (
    ConfidenceScorer,
    attempts_part,
    complexity_part,
    integration_part,
    measure,
    validation_part,
)
from mge.review.decisions import approve
from mge.review.queue import context_summary, select, suggestion_request
from mge.validation.batch import Workspace
from mge.validation.codebase import Codebase


def _result(*checks: tuple[str, bool, str]) -> ValidationResult:
    return ValidationResult(
        level="L1",
        subject="a",
        passed=all(c[1] for c in checks),
        checks=[CheckResult(name=n, passed=p, detail=d) for n, p, d in checks],
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, 0.0),
        (_result(("parse", True, ""), ("tests", True, "2 passed")), 1.0),
        (
            _result(
                ("parse", True, ""),
                ("types", False, "x"),
                ("tests", False, "y"),
                ("import", True, ""),
            ),
            0.5,
        ),
        (_result(("parse", True, ""), ("tests", True, "deferred: no unit test can run yet")), 0.7),
        (
            _result(
                ("parse", True, ""),
                ("types", False, ""),
                ("tests", True, "deferred: no unit test can run yet"),
            ),
            0.6667,
        ),
    ],
    ids=["none", "all-pass", "half", "untested-capped", "share-below-cap"],
)
def test_validation_part(result: ValidationResult | None, expected: float) -> None:
    assert validation_part(result) == expected


@pytest.mark.parametrize(
    ("passed_on", "max_attempts", "expected"),
    [
        (1, 3, 1.0),
        (2, 3, 0.6667),
        (3, 3, 0.3333),
        (None, 3, 0.0),
        (4, 3, 0.0),
        (1, 1, 1.0),
        (2, 5, 0.8),
    ],
)
def test_attempts_part(passed_on: int | None, max_attempts: int, expected: float) -> None:
    assert attempts_part(passed_on, max_attempts) == expected


@pytest.mark.parametrize(
    ("complexity", "loc", "expected"),
    [(1, 5, 1.0), (3, 10, 0.65), (2, 20, round(0.7 / 1.5 + 0.3 * 0.5, 4)), (5, 1, 0.5333)],
)
def test_complexity_part(complexity: int, loc: int, expected: float) -> None:
    assert complexity_part(complexity, loc) == expected


@pytest.mark.parametrize(("runs", "passes", "expected"), [(0, 0, 0.5), (4, 4, 1.0), (4, 1, 0.25)])
def test_integration_part(runs: int, passes: int, expected: float) -> None:
    assert integration_part(runs, passes) == expected


def test_measure_uses_the_written_code() -> None:
    atom = AtomicUnit(
        id="f",
        file="m.py",
        language="python",
        kind="function",
        qualname="f",
        signature="def f(x)",
        estimated_loc=2,
        complexity=1,
    )
    code = (
        "def f(x):\n    if x > 0 and x < 10:\n        return 1\n    for i in range(x):\n"
        "        x += i\n    return x\n"
    )
    m = measure(atom, code)
    assert m.complexity == 4 and m.loc >= 5
    empty = measure(atom, "")
    assert (empty.complexity, empty.loc) == (1, 2)  # the atom's estimates


def test_scorer_combines_parts_with_the_design_weights() -> None:
    atom = AtomicUnit(
        id="f",
        file="m.py",
        language="python",
        kind="function",
        qualname="f",
        signature="def f(x)",
        estimated_loc=2,
        complexity=1,
    )
    ok = _result(("parse", True, ""), ("tests", True, "1 passed"))
    bad = _result(("parse", True, ""), ("tests", False, "E assert"))
    progress = AtomProgress(
        "f",
        AtomState.VALIDATED,
        [
            Attempt(
                atom_id="f",
                number=1,
                temperature=0.7,
                prompt_hash="h",
                code="def f(x):\n    return 1\n",
                validation=bad,
            ),
            Attempt(
                atom_id="f",
                number=2,
                temperature=0.5,
                prompt_hash="h",
                code="def f(x):\n    return x\n",
                validation=ok,
            ),
        ],
        code="def f(x):\n    return x\n",
        integration_runs=2,
        integration_passes=1,
    )
    parts = ConfidenceScorer(max_attempts=3).score(atom, progress)
    assert parts == ConfidenceParts(
        validation=1.0, attempts=0.6667, complexity=1.0, integration=0.5
    )
    assert parts.score == round(sum(getattr(parts, k) * w for k, w in WEIGHTS.items()), 4)
    assert parts.score == pytest.approx(0.4 + 0.2 + 0.2 + 0.05, abs=1e-3)


@pytest.mark.parametrize(
    ("scores", "failed", "fraction", "exclude", "expected"),
    [
        (
            {"a": 0.9, "b": 0.5, "c": 0.7, "d": 0.2},
            ["d"],
            0.25,
            [],
            [("d", "failed"), ("b", "low_confidence")],
        ),
        (
            {"a": 0.9, "b": 0.5, "c": 0.5},
            [],
            0.5,
            [],
            [("b", "low_confidence"), ("c", "low_confidence")],
        ),
        ({"a": 0.9, "b": 0.5}, ["x"], 0.0, [], [("x", "failed")]),
        (
            {"a": 0.9, "b": 0.5, "c": 0.1},
            ["c"],
            0.34,
            ["b"],
            [("c", "failed"), ("a", "low_confidence")],
        ),
        (
            {f"a{i}": i / 20 for i in range(20)},
            [],
            0.15,
            [],
            [(f"a{i}", "low_confidence") for i in range(3)],
        ),
    ],
    ids=["failed-plus-lowest", "ties-by-id", "fraction-zero", "excluded", "fifteen-percent"],
)
def test_select(
    scores: dict[str, float],
    failed: list[str],
    fraction: float,
    exclude: list[str],
    expected: list[tuple[str, str]],
) -> None:
    assert select(scores, failed, fraction, exclude) == expected


@settings(max_examples=100, deadline=None)
@given(
    scores=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.floats(0, 1, allow_nan=False), max_size=30
    ),
    fraction=st.floats(0, 1),
    data=st.data(),
)
def test_select_properties(scores: dict[str, float], fraction: float, data: st.DataObject) -> None:
    failed = data.draw(st.sets(st.sampled_from(sorted(scores)))) if scores else set()
    picked = select(scores, failed, fraction)
    ids = [a for a, _ in picked]
    assert len(ids) == len(set(ids))
    assert {a for a, r in picked if r == "failed"} == failed
    low = [a for a, r in picked if r == "low_confidence"]
    others = [a for a in scores if a not in failed]
    assert len(low) == min(len(others), math.ceil(fraction * len(scores) - 1e-9))
    if low:  # every picked atom is at most as confident as every atom left out
        left = [scores[a] for a in others if a not in low]
        assert not left or max(scores[a] for a in low) <= min(left)


def _progress_failed() -> tuple[AtomicUnit, AtomProgress]:
    atom = AtomicUnit(
        id="f",
        file="m.py",
        language="python",
        kind="function",
        qualname="f",
        signature="def f(x: int) -> int",
        spec="Double x.",
        preconditions=["x >= 0"],
        estimated_loc=2,
        complexity=1,
        test_cases=["test_f"],
    )
    bad = _result(("parse", True, ""), ("tests", False, "E   assert 3 == 4"))
    progress = AtomProgress(
        "f",
        AtomState.FAILED,
        [
            Attempt(
                atom_id="f",
                number=n,
                temperature=0.7,
                prompt_hash="h",
                code="def f(x):\n    return x + 1\n",
                validation=bad,
            )
            for n in (1, 2, 3)
        ],
    )
    return atom, progress


def test_context_summary_and_suggestion_request() -> None:
    atom, progress = _progress_failed()
    cb = Codebase(
        {
            "m.py": "def f(x: int) -> int:\n    ...\n",
            "tests/test_m.py": "def test_f():\n    assert f(2) == 4\n",
        },
        {"f": atom},
    )
    text = context_summary(atom, progress, cb)
    assert "Double x." in text and "Pre: x >= 0" in text
    assert "Tests: tests/test_m.py::test_f" in text and "Attempts: 3" in text
    assert "Last failure: tests: E   assert 3 == 4" in text
    parts = ConfidenceParts(validation=0.5, attempts=0, complexity=1, integration=0.5)
    req = suggestion_request(atom, progress, "def f(x):\n    return x + 1\n", parts, "failed")
    assert req.key == "review/f"
    assert "it failed every attempt" in req.prompt and "return x + 1" in req.prompt
    assert "Attempts used: 3" in req.prompt and "E   assert 3 == 4" in req.prompt


def test_context_summary_says_each_contract_line_once() -> None:
    """The spec is the whole docstring, contract lines included: they are listed once."""
    atom, progress = _progress_failed()
    atom = atom.model_copy(
        update={
            "spec": "Double x.\n\nPre: x >= 0\nPost: returns 2 * x\nUses: helper",
            "postconditions": ["returns 2 * x"],
        }
    )
    text = context_summary(atom, progress, Codebase({"m.py": "def f(x): ...\n"}, {"f": atom}))
    assert text.count("x >= 0") == 1 and text.count("returns 2 * x") == 1, text
    assert "Double x." in text and "Uses: helper" not in text


async def test_approve_accepts_the_items_code() -> None:
    item = ReviewItem(
        atom_id="f",
        reason="failed",
        code="def f(x):\n    return 2 * x\n",
        confidence=ConfidenceParts(validation=0, attempts=0, complexity=1, integration=0.5),
    )
    cb = Codebase({"m.py": "def f(x: int) -> int:\n    ...\n"}, {"f": _progress_failed()[0]})
    ws = Workspace(cb)
    journal = MemoryJournal()
    result = await approve(item, journal, workspace=ws, by="ana")
    assert result.accepted and result.state is AtomState.APPROVED
    assert result.item.decision == "approve" and result.item.decided_by == "ana"
    assert result.item.decided_at is not None
    assert ws.validated["f"] == item.code
    assert journal.states["f"] == (AtomState.APPROVED, item.code)
    assert "approved on the reviewer's word" in result.message
