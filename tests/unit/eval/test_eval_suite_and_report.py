"""The HumanEval suite as a codebase, attempt classification and report arithmetic (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mge.eval.harness import classify_attempt
from mge.eval.problems import load_humaneval
from mge.eval.report import ProblemResult, summarize
from mge.eval.scoring import hidden_job
from mge.eval.suite import build_suite
from mge.models.execution import Attempt, CheckResult, Usage, ValidationResult


def test_each_problem_is_one_atom_whose_tests_are_the_visible_examples_only() -> None:
    problems = load_humaneval(limit=12)
    suite = build_suite(problems)
    assert len(suite.entries) == 12
    for atom_id, entry in suite.entries.items():
        atom = suite.codebase.atoms[atom_id]
        assert atom.qualname == entry.problem.entry_point
        assert suite.codebase.files[atom.file] == entry.problem.prompt
        tests = suite.codebase.tests_by_atom[atom_id]
        assert len(tests) == entry.examples
        for path, text in suite.codebase.files.items():
            assert "def check(candidate)" not in text, path  # no hidden test in the codebase
    assert not suite.codebase.unresolved_tests


def test_the_hidden_job_runs_check_on_the_spliced_solution() -> None:
    problem = load_humaneval(limit=1)[0]
    suite = build_suite([problem])
    atom_id = suite.atom_ids[0]
    job = hidden_job(suite, atom_id, problem.canonical_solution, "k")
    assert job is not None and len(job.files) == 1 and len(job.tests) == 1
    (source,) = job.files.values()
    assert problem.test in source and source.rstrip().endswith(f"check({problem.entry_point})")
    assert problem.canonical_solution.strip().splitlines()[0].strip() in source


def _attempt(code: str, error: str = "", checks: list[tuple[str, bool]] | None = None) -> Attempt:
    validation = None
    if checks is not None:
        validation = ValidationResult(
            level="L1",
            subject="a",
            passed=all(ok for _, ok in checks),
            checks=[CheckResult(name=n, passed=ok) for n, ok in checks],
        )
    return Attempt(
        atom_id="a",
        number=1,
        temperature=0,
        prompt_hash="h",
        code=code,
        validation=validation,
        error=error,
    )


def test_attempts_are_classified_by_what_went_wrong() -> None:
    assert classify_attempt(_attempt("", "the answer held no code")) == "unparseable"
    assert classify_attempt(_attempt("", "LLMError: refused")) == "llm_error"
    assert classify_attempt(_attempt("def f(:", checks=[("parse", False)])) == "unparseable"
    assert classify_attempt(_attempt("x", checks=[("parse", True), ("tests", False)])) == "failed"
    assert classify_attempt(_attempt("x", checks=[("parse", True), ("tests", True)])) == "ok"


rows = st.builds(
    ProblemResult,
    task_id=st.text(min_size=1, max_size=5),
    visible_examples=st.integers(0, 5),
    attempts=st.integers(1, 3),
    validated=st.booleans(),
    first_hidden_passed=st.booleans(),
    final_hidden_passed=st.booleans(),
    unparseable_answers=st.integers(0, 3),
    llm_errors=st.integers(0, 3),
    usage=st.builds(Usage, input_tokens=st.integers(0, 10**6), output_tokens=st.integers(0, 10**5)),
)


@given(st.lists(rows, max_size=30))
def test_the_summary_adds_up_from_the_rows(results: list[ProblemResult]) -> None:
    s = summarize(results)
    n = len(results)
    assert s["problems"] == n
    assert s["passed_final"] == sum(r.final_hidden_passed for r in results)
    assert s["attempts_used"] == sum(r.attempts for r in results)
    usage = s["usage"]
    assert isinstance(usage, Usage)
    assert usage.input_tokens == sum(r.usage.input_tokens for r in results)
    rate = s["pass_at_1_final"]
    assert isinstance(rate, float) and 0.0 <= rate <= 1.0
    if n:
        assert abs(rate - s["passed_final"] / n) < 1e-4  # type: ignore[operator]
