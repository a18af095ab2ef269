"""Retry policy and budget: pure decisions, table-driven."""

from __future__ import annotations

import pytest

from mge.errors import BudgetExceeded
from mge.execution.budget import ATOMS, COST, Budget, exceeded
from mge.execution.retry import plan_attempt, plan_regeneration, temperature_for
from mge.models.execution import Attempt, CheckResult, ValidationResult
from mge.models.project import BudgetSpec


@pytest.mark.parametrize(
    ("number", "base", "expected"),
    [(1, 0.7, 0.7), (1, 0.2, 0.2), (2, 0.7, 0.5), (3, 0.7, 0.3), (4, 0.7, 0.3), (5, 0.0, 0.3)],
)
def test_temperature_for(number: int, base: float, expected: float) -> None:
    assert temperature_for(number, base) == expected


def _failed(number: int, check: str = "tests", detail: str = "E   assert 1 == 2") -> Attempt:
    return Attempt(
        atom_id="a",
        number=number,
        temperature=0.7,
        prompt_hash="h",
        code=f"def f():\n    return {number}\n",
        validation=ValidationResult(
            level="L1",
            subject="a",
            passed=False,
            checks=[
                CheckResult(name="parse", passed=True),
                CheckResult(name=check, passed=False, detail=detail),
            ],
        ),
    )


def _passed(number: int) -> Attempt:
    return Attempt(
        atom_id="a",
        number=number,
        temperature=0.7,
        prompt_hash="h",
        code="x",
        validation=ValidationResult(level="L1", subject="a", passed=True),
    )


@pytest.mark.parametrize(
    ("history", "feedback", "number", "temperature", "has_analysis", "detailed", "retry"),
    [
        ([], None, 1, 0.7, False, False, False),
        ([_failed(1)], None, 2, 0.5, True, False, True),
        ([_failed(1), _failed(2)], None, 3, 0.3, True, True, True),
        ([_passed(1)], "module test failed", 2, 0.5, False, False, True),
        ([], "reviewer says", 1, 0.7, False, False, True),
    ],
    ids=["first", "second", "third", "integration-requeue", "feedback-only"],
)
def test_plan_attempt(
    history: list[Attempt],
    feedback: str | None,
    number: int,
    temperature: float,
    has_analysis: bool,
    detailed: bool,
    retry: bool,
) -> None:
    plan = plan_attempt("a", history, 0.7, feedback)
    assert plan.number == number
    assert plan.key == f"atom/a/attempt-{number}"
    assert plan.temperature == temperature
    assert (plan.analysis is not None) is has_analysis
    assert plan.detailed is detailed
    assert plan.is_retry is retry
    assert plan.feedback == feedback
    if history:
        assert plan.previous_code == history[-1].code


def test_detailed_analysis_is_longer_and_has_a_hint() -> None:
    second = plan_attempt("a", [_failed(1)], 0.7)
    third = plan_attempt("a", [_failed(1), _failed(2)], 0.7)
    assert "How to fix" not in second.analysis_text()
    assert "How to fix" in third.analysis_text()
    assert len(third.analysis_text()) > len(second.analysis_text())


def test_regeneration_plan_uses_its_own_key_and_feedback() -> None:
    plan = plan_regeneration("a", [_failed(1), _failed(2), _failed(3)], 4, 0.6, "use a dict")
    assert plan.key == "atom/a/regenerate-4"
    assert plan.number == 4 and plan.temperature == 0.6
    assert plan.feedback == "use a dict" and plan.detailed and plan.analysis is not None
    after_pass = plan_regeneration("a", [_passed(1)], 2, 0.6, "simpler please")
    assert after_pass.analysis is None and after_pass.previous_code == "x"


@pytest.mark.parametrize(
    ("max_cost", "max_atoms", "spent", "started", "new", "expected"),
    [
        (1.0, 10, 0.0, 0, True, None),
        (1.0, 10, 0.99, 9, True, None),
        (1.0, 10, 1.0, 0, False, COST),
        (1.0, 10, 1.5, 0, False, COST),
        (1.0, 10, 0.5, 10, True, ATOMS),
        (1.0, 10, 0.5, 10, False, None),
        (0.0, 10, 0.0, 0, True, COST),
    ],
    ids=[
        "fresh",
        "just-under",
        "cost-reached",
        "cost-over",
        "atoms-reached",
        "retry-allowed",
        "zero-budget",
    ],
)
def test_exceeded(
    max_cost: float, max_atoms: int, spent: float, started: int, new: bool, expected: str | None
) -> None:
    assert exceeded(max_cost, max_atoms, spent, started, new) == expected


def test_budget_reserves_atoms_and_resumes_with_a_higher_limit() -> None:
    budget = Budget.from_spec(BudgetSpec(maxCostUSD=1.0, maxAtoms=2))
    budget.check("a")
    budget.check("b")
    budget.check("a")  # a retry of a started atom
    with pytest.raises(BudgetExceeded) as e:
        budget.check("c")
    assert e.value.what == ATOMS
    budget.charge(1.25)
    with pytest.raises(BudgetExceeded) as e2:
        budget.check("a")
    assert e2.value.what == COST and "spent 1.25" in str(e2.value)
    with pytest.raises(BudgetExceeded):
        budget.check_cost()
    resumed = Budget.from_spec(
        BudgetSpec(maxCostUSD=5.0, maxAtoms=3), budget.spent_usd, budget.started
    )
    resumed.check("c")
    assert resumed.started == {"a", "b", "c"}
