"""L1 static checks and job preparation: pure, nothing executed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from shop_codebase import ADD, DISCOUNT, GOOD, SUBTOTAL, TOTAL, codebase

from mge.validation.batch import (
    DEFERRED,
    Candidate,
    batch_fingerprint,
    outcome_checks,
    prepare,
)
from mge.validation.runner import TestOutcome


@pytest.mark.parametrize(
    ("code", "failing", "says"),
    [
        (
            "def subtotal(prices: list[float]) -> float:\n    return sum(prices\n",
            "parse",
            "syntax error",
        ),
        ("", "parse", "no code"),
        (
            "def subtotal(items: list[float]) -> float:\n    return sum(items)\n",
            "signature",
            "expected `def subtotal(prices: list[float]) -> float`",
        ),
        ("return 1 +* 2", "parse", "syntax error"),
        (
            "def subtotal(prices: list[float]) -> float:\n    return await x\n",
            "compile",
            "SyntaxError",
        ),
        (
            "def subtotal(prices: list[float]) -> float:\n    nonlocal q\n    return 0.0\n",
            "compile",
            "SyntaxError",
        ),
    ],
    ids=[
        "unclosed",
        "empty",
        "renamed-parameter",
        "bare-garbage",
        "await-outside-async",
        "nonlocal-at-function-level",
    ],
)
def test_static_failures(code: str, failing: str, says: str) -> None:
    prepared = prepare(codebase(), {}, Candidate(SUBTOTAL.id, 1, code))
    bad = [c for c in prepared.static if not c.passed]
    assert [c.name for c in bad] == [failing]
    assert says in bad[0].detail
    assert prepared.job is None


def test_layout_differences_are_not_signature_changes() -> None:
    code = "def subtotal(\n    prices: list[float],\n) -> float:\n    return sum(prices)\n"
    prepared = prepare(codebase(), {}, Candidate(SUBTOTAL.id, 1, code))
    assert prepared.statically_ok


def test_job_holds_validated_code_marked_stubs_and_all_the_atoms_tests() -> None:
    cb = codebase()
    validated = {SUBTOTAL.id: GOOD[SUBTOTAL.id], DISCOUNT.id: GOOD[DISCOUNT.id]}
    prepared = prepare(cb, validated, Candidate(ADD.id, 2, GOOD[ADD.id]))
    assert prepared.statically_ok
    job = prepared.job
    assert job is not None
    assert job.id == ADD.id
    assert job.imports == ("shop.cart",)
    assert job.tests == (
        "tests/test_shop.py::TestCart::test_add",
        "tests/test_shop.py::TestCart::test_add_and_total",
    )
    assert "self.prices.append(price)" in job.files["src/shop/cart.py"]
    assert "return float(sum(prices))" in job.files["src/shop/pricing.py"]
    # total has no code yet: a test reaching it fails with a recognisable message.
    assert "MGE-STUB total: no accepted code yet" in job.files["src/shop/pricing.py"]
    base = cb.render(validated, stub_missing=True)
    assert prepare(cb, validated, Candidate(ADD.id, 2, GOOD[ADD.id]), base).job == job


def _prepared_total():  # type: ignore[no-untyped-def]
    cb = codebase()
    validated = {SUBTOTAL.id: GOOD[SUBTOTAL.id], DISCOUNT.id: GOOD[DISCOUNT.id]}
    return prepare(cb, validated, Candidate(TOTAL.id, 1, GOOD[TOTAL.id]))


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (TestOutcome("t", passed=True), [("import", True), ("tests", True)]),
        (
            TestOutcome("t", passed=False, import_error="importing shop.pricing failed: boom"),
            [("import", False)],
        ),
        (
            TestOutcome(
                "t",
                passed=False,
                failed_tests=("tests/test_shop.py::test_total_AC_1",),
                details={"tests/test_shop.py::test_total_AC_1": "assert 9.0 == 10.0"},
            ),
            [("import", True), ("tests", False)],
        ),
        (
            TestOutcome("t", passed=False, timed_out=True, error="killed at the 30 s limit"),
            [("import", True), ("tests", False)],
        ),
        (None, [("tests", False)]),
    ],
    ids=["pass", "import-error", "test-failure", "timeout", "no-result"],
)
def test_outcome_checks(outcome: TestOutcome | None, expected: list[tuple[str, bool]]) -> None:
    checks = outcome_checks(_prepared_total(), outcome)
    assert [(c.name, c.passed) for c in checks] == expected


def test_failure_details_reach_the_check() -> None:
    outcome = TestOutcome(
        "t", passed=False, timed_out=True, error="killed at the 30 s wall-clock limit"
    )
    tests = outcome_checks(_prepared_total(), outcome)[-1]
    assert tests.detail.startswith("timed out: killed at the 30 s")


def test_an_atom_without_tests_is_a_deferred_pass() -> None:
    prepared = _prepared_total()
    assert prepared.job is not None
    bare = replace(prepared, job=replace(prepared.job, tests=()))
    checks = outcome_checks(bare, TestOutcome("x", passed=True))
    assert checks[-1].passed and checks[-1].detail.startswith(DEFERRED)
    assert "no unit test of its own" in checks[-1].detail


def test_batch_fingerprint_ignores_order_and_sees_code() -> None:
    a, b = Candidate("a", 1, "x"), Candidate("b", 2, "y")
    assert batch_fingerprint([a, b]) == batch_fingerprint([b, a])
    assert batch_fingerprint([a, b]) != batch_fingerprint([a, Candidate("b", 2, "z")])


def test_failures_that_only_reach_unwritten_code_are_deferred_not_failed() -> None:
    prepared = _prepared_total()
    reached = TestOutcome(
        "t",
        passed=False,
        failed_tests=("tests/test_shop.py::test_total_AC_1",),
        passed_tests=("tests/test_shop.py::TestCart::test_add",),
        details={
            "tests/test_shop.py::test_total_AC_1": "E   NotImplementedError: MGE-STUB Cart.add: "
            "no accepted code yet"
        },
    )
    tests = outcome_checks(prepared, reached)[-1]
    assert tests.passed and tests.detail.startswith(DEFERRED)
    assert "Cart.add" in tests.detail and "1 passed" in tests.detail
    mixed = TestOutcome(
        "t",
        passed=False,
        failed_tests=("a", "b"),
        details={"a": "MGE-STUB Cart.add: no accepted code yet", "b": "E   assert 1 == 2"},
    )
    assert not outcome_checks(prepared, mixed)[-1].passed
