"""L3 performance, the pure parts: benchmarks found in the skeleton, the driver's output read,
the median judged against budget and tolerance, the hot path from profile and graph, the
feedback a hot atom gets, the L3/L4 checks and performance.md, and the policy's admission.

No timing here: the samples are given (the sandbox run is in tests/integration/execution).
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mge.execution.generator import performance_validation
from mge.execution.performance.driver import (
    PERF_MARKER,
    Measurement,
    ProfiledFunction,
    benchmark_files,
    driver_command,
    parse_measurements,
)
from mge.execution.performance.judge import (
    hot_path,
    judge,
    performance_feedback,
    result_of,
    to_send_back,
)
from mge.execution.performance.render import render_performance
from mge.models.atoms import AtomicUnit
from mge.models.performance import BenchmarkResult, PerformanceCriterion, PerformanceReport
from mge.models.project import ProjectSpec
from mge.pipeline.exec_stages import benchmark_checks

CRIT = PerformanceCriterion(
    id="AC-9", text="List 10,000 tasks in under 50 ms", operation="list", size=10_000,
    unit="tasks", budget_ms=50.0,
)  # fmt: skip


def _atom(atom_id: str, qualname: str, deps: list[str] | None = None) -> AtomicUnit:
    return AtomicUnit(
        id=atom_id,
        file="app/repo.py",
        language="python",
        kind="function",
        qualname=qualname,
        signature=f"def {qualname}()",
        dependencies=deps or [],
        estimated_loc=5,
        complexity=1,
    )


ATOMS = {
    "list": _atom("list", "Repo.list", ["paginate"]),
    "paginate": _atom("paginate", "paginate"),
    "add": _atom("add", "Repo.add"),
}
BENCH = "tests/benchmarks/bench_list.py"
SPANS = {"app/repo.py": {"paginate": (3, 8), "list": (10, 14), "add": (16, 20)}}


def test_benchmark_files_by_criterion() -> None:
    files = {
        "tests/benchmarks/bench_list.py": 'CRITERION = "AC-9"\n',
        "tests/benchmarks/bench_typed.py": "CRITERION: str = 'AC-10'\n",
        "tests/benchmarks/helpers.py": 'CRITERION = "AC-11"\n',
        "benchmarks/bench_other.py": 'CRITERION = "AC-12"\n',
        "tests/benchmarks/bench_none.py": "X = 1\n",
        "tests/benchmarks/bench_list.ts": 'export const CRITERION = "AC-13";\n',
        "tests/benchmarks/bench_list.txt": 'CRITERION = "AC-14"\n',
    }
    assert benchmark_files(files) == {
        "AC-9": "tests/benchmarks/bench_list.py",
        "AC-10": "tests/benchmarks/bench_typed.py",
        "AC-13": "tests/benchmarks/bench_list.ts",
    }


def test_driver_output_is_read_line_by_line() -> None:
    line = {
        "criterion": "AC-9",
        "samples_ms": [10.0, 12.5],
        "total_s": 0.02,
        "profile": [
            {"path": "app/repo.py", "line": 3, "name": "paginate", "seconds": 0.015,
             "callers": [["app/repo.py", 10, "list"]]},
        ],
    }  # fmt: skip
    text = "noise\n" + PERF_MARKER + json.dumps(line) + "\n" + PERF_MARKER + "{broken\n"
    found = parse_measurements(text)
    assert list(found) == ["AC-9"]
    m = found["AC-9"]
    assert m.samples_ms == (10.0, 12.5) and m.total_s == 0.02
    assert m.profile[0].callers == (("app/repo.py", 10, "list"),)
    argv = driver_command([{"criterion": "AC-9", "module": "tests.benchmarks.bench_list"}])
    assert argv[:3] == ["python", "-s", "-c"]
    assert json.loads(argv[4]) == {
        "benchmarks": [{"criterion": "AC-9", "module": "tests.benchmarks.bench_list"}]
    }


@pytest.mark.parametrize(
    ("samples", "tolerance", "passed", "near"),
    [
        ([40, 45, 300], 0.25, True, False),  # one slow run does not move the median
        ([60, 61, 62], 0.25, True, False),  # within 50 ms + 25 %
        ([70, 70, 70], 0.25, False, True),  # over the limit but within 1.5×: measured again
        ([70, 70, 70], 0.5, True, False),
        ([200, 210, 190], 0.25, False, False),  # a clear miss
        ([], 0.25, False, False),
    ],
)
def test_judge_on_the_median(
    samples: list[float], tolerance: float, passed: bool, near: bool
) -> None:
    assert judge(CRIT, samples, tolerance) == (passed, near)


def _measurement() -> Measurement:
    return Measurement(
        criterion="AC-9",
        samples_ms=(180.0, 190.0, 185.0),
        total_s=0.2,
        profile=(
            ProfiledFunction(BENCH, 5, "run", 0.0001),
            ProfiledFunction("app/repo.py", 10, "list", 0.01, ((BENCH, 5, "run"),)),
            ProfiledFunction("app/repo.py", 3, "paginate", 0.17, (("app/repo.py", 10, "list"),)),
            ProfiledFunction("app/repo.py", 5, "<lc>", 0.015, (("app/repo.py", 3, "paginate"),)),
        ),
    )


def test_hot_path_is_the_graph_closure_ranked_by_profiled_time() -> None:
    spots = hot_path(_measurement(), "tests/benchmarks/bench_list.py", SPANS, ATOMS)
    assert [(s.atom_id, s.qualname) for s in spots] == [
        ("paginate", "paginate"),
        ("list", "Repo.list"),
    ]
    # the comprehension's time counts for the atom it is written in
    assert spots[0].seconds == pytest.approx(0.185) and spots[0].share == pytest.approx(0.925)
    assert "add" not in {s.atom_id for s in spots}  # not reached


def test_an_entry_atom_reaches_its_dependencies_even_when_they_took_no_time() -> None:
    m = Measurement(
        criterion="AC-9",
        samples_ms=(1.0,),
        profile=(ProfiledFunction("app/repo.py", 10, "list", 0.01, ((BENCH, 5, "run"),)),),
    )
    spots = hot_path(m, "tests/benchmarks/bench_list.py", SPANS, ATOMS)
    assert {s.atom_id for s in spots} == {"list", "paginate"}


def test_a_miss_sends_the_hot_atoms_back_with_the_figures() -> None:
    result = result_of(
        CRIT, "tests/benchmarks/bench_list.py", _measurement(), 0.25, spans=SPANS, atoms=ATOMS
    )
    assert not result.passed and result.median_ms == 185.0 and result.limit_ms == 62.5
    assert to_send_back(result) == ["paginate"]  # list took 5 %: left alone
    feedback = performance_feedback(PerformanceReport(results=[result]))
    assert list(feedback) == ["paginate"]
    text = feedback["paginate"]
    assert "median 185.0 ms over 3 runs of size 10,000" in text
    assert "budget 50 ms (with tolerance 62.5 ms)" in text
    assert "This function took 185.0 ms of the profiled run (92%)" in text


def test_a_pass_or_an_error_sends_nobody_back() -> None:
    fast = Measurement(criterion="AC-9", samples_ms=(3.0, 4.0, 5.0))
    ok = result_of(CRIT, "b.py", fast, 0.25, spans=SPANS, atoms=ATOMS)
    assert ok.passed and to_send_back(ok) == []
    broken = Measurement(criterion="AC-9", error="Traceback: ImportError")
    err = result_of(CRIT, "b.py", broken, 0.25, spans=SPANS, atoms=ATOMS)
    assert not err.passed and err.error.startswith("Traceback") and to_send_back(err) == []
    none = result_of(CRIT, "b.py", None, 0.25, spans=SPANS, atoms=ATOMS)
    assert "printed no result" in none.error
    assert performance_feedback(PerformanceReport(results=[ok, err, none])) == {}


def test_a_rerun_joins_the_earlier_samples() -> None:
    again = Measurement(criterion="AC-9", samples_ms=(50.0, 52.0, 55.0))
    r = result_of(
        CRIT, "b.py", again, 0.25, spans=SPANS, atoms=ATOMS, reruns=1, earlier=[70.0, 70.0, 70.0]
    )
    assert r.reruns == 1 and len(r.samples_ms) == 6 and r.median_ms == 62.5 and r.passed


def _report(mode: str) -> PerformanceReport:
    miss = result_of(
        CRIT, "tests/benchmarks/bench_list.py", _measurement(), 0.25, spans=SPANS, atoms=ATOMS
    )
    questions = ["AC-3 is about speed but has no size"]
    return PerformanceReport(mode=mode, results=[miss], questions=questions)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "fails"), [("block", True), ("report", False)])
def test_checks_fail_only_in_block_mode(mode: str, fails: bool) -> None:
    report = _report(mode)
    l3 = performance_validation(report)
    assert l3.level == "L3" and l3.subject == "performance" and l3.passed is not fails
    assert l3.checks[0].name == "performance/AC-9" and "median 185.0 ms" in l3.checks[0].detail
    acceptance = benchmark_checks(report)
    assert acceptance["AC-9"].passed is not fails
    assert benchmark_checks(None) == {}


def test_performance_md_shows_figures_hot_path_and_questions() -> None:
    text = render_performance(_report("block"))
    assert "Verdict: **MISSED** (mode block)" in text
    assert "| AC-9 list | 10,000 tasks | 50 ms (≤ 62.5) | 185.0 ms | 3 | miss |" in text
    assert "- `paginate` 185.0 ms (92%)" in text
    assert "- AC-3 is about speed but has no size" in text
    ok = BenchmarkResult(
        criterion=CRIT, samples_ms=[1.0], median_ms=1.0, limit_ms=62.5, passed=True
    )
    assert "Verdict: **met**" in render_performance(PerformanceReport(results=[ok]))


def test_policy_defaults_and_refusals() -> None:
    policy = ProjectSpec.model_validate({"requirements": "x y z"}).validation.performance
    assert (policy.mode, policy.repetitions, policy.tolerance, policy.retries) == (
        "block", 7, 0.25, 1,
    )  # fmt: skip
    for bad in ({"mode": "warn"}, {"repetitions": 1}, {"tolerance": -0.1}, {"retries": 4}):
        with pytest.raises(ValidationError) as caught:
            ProjectSpec.model_validate(
                {"requirements": "x y z", "validation": {"performance": bad}}
            )
        assert "performance" in str(caught.value)


def test_status_counts_and_decide_keeps_them_until_new_ones_come() -> None:
    from datetime import UTC, datetime

    from mge.kube.decide import Observed, decide
    from mge.models.project import ProjectStatus, performance_status

    counts = performance_status(_report("block").model_copy(update={"retried": ["paginate"]}))
    assert counts.model_dump() == {
        "met": False, "criteria": 1, "missed": 1, "unmeasured": 1, "retried": 1,
    }  # fmt: skip
    spec = ProjectSpec.model_validate({"requirements": "a todo list"})
    now = datetime(2026, 12, 6, tzinfo=UTC)
    plan = decide(spec, ProjectStatus(), Observed(generation=1, performance=counts), now)
    assert plan.status.performance == counts
    later = decide(spec, plan.status, Observed(generation=1), now)
    assert later.status.performance == counts
