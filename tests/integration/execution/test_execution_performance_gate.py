"""The L3 performance gate with the real process sandbox: the benchmark harness runs the
skeleton's benchmark on the assembled code, the profile finds the hot atom, and the verdict
follows the median. The budgets are far from both implementations (a quadratic page cut of
10,000 items takes hundreds of ms, the slice well under 1 ms), so a busy machine cannot flip
them."""

from __future__ import annotations

from pathlib import Path

from mge.atomization.decompose import atoms_from_skeleton
from mge.execution.performance import PerformanceGate, performance_feedback, render_performance
from mge.models.performance import PerformanceCriterion, PerformancePolicy
from mge.sandbox import LocalSandbox, RunnerOptions
from mge.validation.codebase import Codebase

SKELETON = {
    "app/store.py": '''"""A store that cuts pages."""


def page(items: list[int], offset: int, limit: int) -> list[int]:
    """The items from offset, at most limit of them."""
    ...


def listing(n: int) -> list[int]:
    """The first n numbers, cut as one page. Uses: `page`."""
    ...
''',
    "tests/test_store.py": """from app.store import listing, page


def test_page() -> None:
    assert page([1, 2, 3], 1, 1) == [2]


def test_listing() -> None:
    assert listing(3) == [0, 1, 2]
""",
    "tests/benchmarks/bench_listing.py": '''"""Benchmark of AC-1."""

from app.store import listing

CRITERION = "AC-1"


def setup(size: int) -> int:
    return size


def run(n: int) -> None:
    listing(n)
''',
}
CRITERION = PerformanceCriterion(
    id="AC-1",
    text="Listing 10,000 numbers takes under 20 ms",
    operation="listing",
    size=10_000,
    unit="numbers",
    budget_ms=20.0,
)
LISTING = "items = list(range(n))\nreturn page(items, 0, len(items))"
QUADRATIC = "return [x for x in items if offset <= items.index(x) < offset + limit]"
LINEAR = "return items[offset : offset + limit]"


async def test_a_quadratic_atom_misses_and_is_named_and_a_linear_one_meets(
    tmp_path: Path,
) -> None:
    atoms = atoms_from_skeleton(SKELETON, "T-1")
    codebase = Codebase(SKELETON, {a.id: a for a in atoms})
    ids = {a.qualname: a.id for a in atoms}
    sandbox = LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "scratch"))
    gate = PerformanceGate(
        codebase, sandbox.run, PerformancePolicy(repetitions=3), [CRITERION], language="python"
    )

    slow = await gate.check({ids["page"]: QUADRATIC, ids["listing"]: LISTING})
    (result,) = slow.results
    assert not result.passed and not result.error, result
    assert len(result.samples_ms) >= 3 and result.median_ms is not None
    assert result.median_ms > result.limit_ms == 25.0
    assert result.hot[0].atom_id == ids["page"] and result.hot[0].share > 0.5
    feedback = performance_feedback(slow)
    assert list(feedback) == [ids["page"]]
    assert "median" in feedback[ids["page"]] and "size 10,000" in feedback[ids["page"]]
    assert "Verdict: **MISSED**" in render_performance(slow)

    fast = await gate.check({ids["page"]: LINEAR, ids["listing"]: LISTING})
    (result,) = fast.results
    assert result.passed and result.reruns == 0, result
    assert performance_feedback(fast) == {}


async def test_a_criterion_without_a_benchmark_or_a_broken_one_is_a_miss_with_its_error(
    tmp_path: Path,
) -> None:
    atoms = atoms_from_skeleton(SKELETON, "T-1")
    codebase = Codebase(SKELETON, {a.id: a for a in atoms})
    ids = {a.qualname: a.id for a in atoms}
    sandbox = LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "scratch"))
    other = CRITERION.model_copy(update={"id": "AC-2"})
    gate = PerformanceGate(
        codebase, sandbox.run, PerformancePolicy(repetitions=3), [CRITERION, other],
        language="python",
    )  # fmt: skip
    report = await gate.check({ids["page"]: "return 1 / 0", ids["listing"]: LISTING})
    broken, missing = report.results
    assert not broken.passed and "ZeroDivisionError" in broken.error
    assert not missing.passed and "no benchmark for AC-2" in missing.error
    assert performance_feedback(report) == {}


TS_SKELETON = {
    "src/store.ts": """/** The items from offset, at most limit of them. */
export function page(items: number[], offset: number, limit: number): number[] {
  throw new Error("TODO");
}

/** The first n numbers, cut as one page. */
export function listing(n: number): number[] {
  throw new Error("TODO");
}
""",
    "tests/store.test.ts": """import { test } from "node:test";
import assert from "node:assert/strict";
import { listing, page } from "../src/store.ts";

test("page", () => { assert.deepEqual(page([1, 2, 3], 1, 1), [2]); });
test("listing", () => { assert.deepEqual(listing(3), [0, 1, 2]); });
""",
    "tests/benchmarks/bench_listing.ts": """import { listing } from "../../src/store.ts";

export const CRITERION = "AC-1";

export function setup(size: number): number {
  return size;
}

export function run(n: number): void {
  listing(n);
}
""",
}
TS_LISTING = "const items = Array.from({ length: n }, (_, i) => i);\nreturn page(items, 0, n);"
TS_QUADRATIC = (
    "return items.filter((x) => offset <= items.indexOf(x) && items.indexOf(x) < offset + limit);"
)
TS_LINEAR = "return items.slice(offset, offset + limit);"


async def test_typescript_benchmarks_run_under_node_and_profile_the_hot_atom(
    tmp_path: Path,
) -> None:
    atoms = atoms_from_skeleton(TS_SKELETON, "T-1")
    codebase = Codebase(TS_SKELETON, {a.id: a for a in atoms})
    ids = {a.qualname: a.id for a in atoms}
    sandbox = LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "scratch"))
    criterion = CRITERION.model_copy(update={"size": 20_000})
    gate = PerformanceGate(
        codebase, sandbox.run, PerformancePolicy(repetitions=3), [criterion],
        language="typescript",
    )  # fmt: skip

    slow = await gate.check({ids["page"]: TS_QUADRATIC, ids["listing"]: TS_LISTING})
    (result,) = slow.results
    assert not result.passed and not result.error, result
    assert result.median_ms is not None and result.median_ms > result.limit_ms
    assert result.hot[0].atom_id == ids["page"] and result.hot[0].share > 0.5
    assert list(performance_feedback(slow)) == [ids["page"]]

    fast = await gate.check({ids["page"]: TS_LINEAR, ids["listing"]: TS_LISTING})
    assert fast.results[0].passed, fast.results[0]
