"""Error analysis: failures classified by kind, key lines and code lines picked out."""

from __future__ import annotations

import pytest

from mge.models.execution import CheckResult, ValidationResult
from mge.validation.diagnosis import (
    FailureKind,
    analyze,
    classify,
    code_context,
    key_lines,
    truncate,
)


@pytest.mark.parametrize(
    ("check", "detail", "kind"),
    [
        ("parse", "syntax error at line 2, column 5: unexpected ':'", FailureKind.SYNTAX),
        ("compile", "SyntaxError: invalid syntax (line 4)", FailureKind.SYNTAX),
        ("compile", "IndentationError: unexpected indent (line 3)", FailureKind.SYNTAX),
        (
            "signature",
            "signature changed: expected `def f(a)`, got `def f(b)`",
            FailureKind.SIGNATURE,
        ),
        (
            "types",
            'src/a.py:4: error: Incompatible return value type (got "str", expected "int")  '
            "[return-value]",
            FailureKind.TYPE,
        ),
        ("types", 'a.py:3: error: Name "foo" is not defined  [name-defined]', FailureKind.NAME),
        (
            "types",
            'a.py:3: error: "Cart" has no attribute "itms"  [attr-defined]',
            FailureKind.ATTRIBUTE,
        ),
        (
            "import",
            "importing shop.cart failed:\nModuleNotFoundError: No module named 'numpy'",
            FailureKind.IMPORT,
        ),
        ("tests", "FAILED tests/test_a.py::test_x\nE   assert 3 == 4", FailureKind.ASSERTION),
        ("tests", "E   AssertionError: totals differ", FailureKind.ASSERTION),
        (
            "tests",
            "E   TypeError: unsupported operand type(s) for +: 'int' and 'str'",
            FailureKind.TYPE,
        ),
        (
            "tests",
            "E   ZeroDivisionError: division by zero\nTraceback (most recent call last)",
            FailureKind.EXCEPTION,
        ),
        ("tests", "timed out: killed at the 30 s wall-clock limit", FailureKind.TIMEOUT),
        ("tests", "ran out of memory (512 MiB)\nMemoryError", FailureKind.RESOURCE),
        ("integration", "FAILED tests/test_cart.py::test_checkout", FailureKind.INTEGRATION),
        ("tests", "something odd happened", FailureKind.UNKNOWN),
    ],
)
def test_classify(check: str, detail: str, kind: FailureKind) -> None:
    assert classify(check, detail) == kind


def test_key_lines_keep_errors_and_locations_only() -> None:
    text = (
        "collected 3 items\n\ntests/test_a.py:12: in test_x\n    assert f(1) == 2\n"
        "E   assert 3 == 2\n\n1 failed, 2 passed"
    )
    assert key_lines(text) == (
        "tests/test_a.py:12: in test_x",
        "    assert f(1) == 2",
        "E   assert 3 == 2",
    )


def test_code_context_numbers_lines_near_referenced_ones() -> None:
    code = "\n".join(f"line{i}" for i in range(1, 11))
    assert code_context(code, "error at line 5", around=1) == (
        "   4 | line4",
        "   5 | line5",
        "   6 | line6",
    )
    assert code_context(code, "error at line 99") == ()


def _result(*checks: tuple[str, bool, str]) -> ValidationResult:
    return ValidationResult(
        level="L1",
        subject="a",
        passed=all(ok for _, ok, _ in checks),
        checks=[CheckResult(name=n, passed=ok, detail=d) for n, ok, d in checks],
    )


def test_analysis_short_for_attempt_two_detailed_for_three() -> None:
    code = "def f(x: int) -> int:\n    y = x +\n    return y\n"
    result = _result(
        ("parse", False, "syntax error at line 2, column 12: missing identifier"),
        ("tests", False, "not run"),
    )
    analysis = analyze(result, code)
    assert analysis.kind is FailureKind.SYNTAX
    short = analysis.render(detailed=False)
    long = analysis.render(detailed=True)
    assert "syntax" in short and "How to fix" not in short
    assert "How to fix" in long and "   2 |     y = x +" in long
    assert "Other failing checks:\n- tests: not run" in long
    assert len(long) > len(short)


def test_generation_failure_without_validation_is_no_code() -> None:
    analysis = analyze(None, "", "the answer held no code")
    assert analysis.kind is FailureKind.NO_CODE
    assert "fenced code block" in analysis.hint


def test_truncate_keeps_the_end() -> None:
    text = "a" * 100 + "THE END"
    out = truncate(text, 20)
    assert out.endswith("THE END") and len(out) <= 20 + 4
