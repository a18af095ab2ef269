"""Pure parts of TypeScript/JavaScript validation: tsc output, node --test outcomes, mixed jobs."""

from __future__ import annotations

from mge.models.sandbox import AtomOutcome, AtomStatus, CaseOutcome, SandboxLimits
from mge.validation.runner import TestJob, TestOutcome
from mge.validation.sandboxed import (
    build_batch,
    merge_outcomes,
    script_outcome_of,
    split_by_language,
    trim_node_failure,
)
from mge.validation.tscheck import parse_tsc_output, tsconfig

TSC = """src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.
src/b.ts(10,1): error TS2345: Argument of type 'X' is not assignable to parameter of type 'Y'.
  Property 'id' is missing in type 'X' but required in type 'Y'.
Found 2 errors.
"""

NODE_FAILURE = """Expected values to be strictly equal:2 !== 4
[Error [ERR_TEST_FAILURE]: Expected values to be strictly equal:

2 !== 4
] {
  code: 'ERR_TEST_FAILURE',
  failureType: 'testCodeFailure',
  cause: AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

  2 !== 4

      at TestContext.<anonymous> (file:///sandbox/tests/math.test.ts:7:34)
      at Test.runInAsyncScope (node:async_hooks:214:14)
      at Test.run (node:internal/test_runner/test:1047:25)
      at async Test.processPendingSubtests (node:internal/test_runner/test:744:7) {
    generatedMessage: true,
    code: 'ERR_ASSERTION',
    actual: 2,
    expected: 4,
    operator: 'strictEqual',
    diff: 'simple'
  }
}"""


def test_tsc_diagnostics_are_read_with_their_continuation_lines() -> None:
    first, second = parse_tsc_output(TSC)
    assert (first.path, first.line) == ("src/a.ts", 3)
    assert "TS2322" in first.message
    assert second.line == 10 and "Property 'id' is missing" in second.message


def test_the_checker_config_is_strict_esm_and_erasable() -> None:
    options = tsconfig(["/x/@types"])["compilerOptions"]
    assert options["strict"] and options["noEmit"] and options["erasableSyntaxOnly"]
    assert options["module"] == "NodeNext" and options["typeRoots"] == ["/x/@types"]


def test_node_failures_keep_the_assertion_and_the_project_frames_only() -> None:
    text = trim_node_failure(NODE_FAILURE)
    assert "2 !== 4" in text and "math.test.ts:7:34" in text
    assert "actual: 2" in text and "expected: 4" in text
    assert "node:internal" not in text and "ERR_TEST_FAILURE" not in text


def _atom(status: AtomStatus, cases: list[tuple[str, str, str]], detail: str = "") -> AtomOutcome:
    return AtomOutcome(
        atom_id="a",
        status=status,
        passed=status is AtomStatus.PASSED,
        cases=[CaseOutcome(name=n, classname="test", status=s, message=m) for n, s, m in cases],
        detail=detail,
    )


JOB = TestJob(
    id="j",
    files={"t/a.test.ts": ""},
    tests=("t/a.test.ts::sums", "t/a.test.ts::halves"),
    language="typescript",
)


def test_only_the_jobs_own_tests_count() -> None:
    atom = _atom(
        AtomStatus.FAILED,
        [("sums", "passed", ""), ("halves", "passed", ""), ("other atom's", "failed", "boom")],
    )
    out = script_outcome_of(JOB, atom)
    assert out.passed and out.passed_tests == JOB.tests


def test_a_failing_case_carries_its_trimmed_message() -> None:
    atom = _atom(AtomStatus.FAILED, [("sums", "passed", ""), ("halves", "failed", NODE_FAILURE)])
    out = script_outcome_of(JOB, atom)
    assert not out.passed and out.failed_tests == ("t/a.test.ts::halves",)
    assert "2 !== 4" in out.details["t/a.test.ts::halves"]


def test_a_test_missing_from_the_report_fails_with_the_run_detail() -> None:
    atom = _atom(AtomStatus.TIMEOUT, [("sums", "passed", "")], "killed at the 30 s limit")
    out = script_outcome_of(JOB, atom)
    assert not out.passed and out.timed_out
    assert out.details["t/a.test.ts::halves"] == "killed at the 30 s limit"


def test_a_mixed_job_is_split_per_language_and_merged_back() -> None:
    job = TestJob(
        id="l4",
        files={"a.py": "", "b.ts": ""},
        tests=("tests/test_a.py::test_x", "web/b.test.ts::works"),
        imports=("a",),
    )
    py, ts = split_by_language(job)
    assert (py.language, py.imports, py.tests) == ("python", ("a",), ("tests/test_a.py::test_x",))
    assert (ts.language, ts.imports, ts.tests) == ("typescript", (), ("web/b.test.ts::works",))
    merged = merge_outcomes(
        "l4",
        [
            TestOutcome(py.id, passed=True, passed_tests=py.tests),
            TestOutcome(ts.id, passed=False, failed_tests=ts.tests, details={ts.tests[0]: "x"}),
        ],
    )
    assert merged.id == "l4" and not merged.passed
    assert merged.passed_tests == py.tests and merged.failed_tests == ts.tests


def test_a_typescript_batch_runs_the_test_files_of_each_job() -> None:
    batch, ids = build_batch([JOB], SandboxLimits(), "b")
    (item,) = batch.items
    assert batch.language == "typescript" and item.command is None
    assert item.test_files == ["t/a.test.ts"] and ids[item.atom_id] == "j"


def test_a_bare_typescript_method_answer_parses_as_a_class_member() -> None:
    from mge.validation.batch import as_class_member
    from mge.validation.source import syntax_errors

    method = "add(title: string): Note {\n  return { id: 1, title, done: false };\n}"
    assert syntax_errors(method, "typescript")  # not a statement on its own
    assert not syntax_errors(as_class_member(method), "typescript")


def test_a_missing_type_checker_is_named_with_how_to_install_it() -> None:
    from mge.validation.batch import unchecked_reason

    assert "scripts/install.sh" in unchecked_reason("typescript", ("python",))
    assert unchecked_reason("typescript", ("python", "typescript")) == "not type-checked"
    assert unchecked_reason("javascript", ("python",)) == "not type-checked"  # JS has no checker
