"""L3 performance: the measurable criteria discovery finds, the policy a Project states, and
what the benchmarks measured.

A :class:`PerformanceCriterion` is an acceptance criterion with a number: an operation, an
input size and a time budget ("list 10,000 tasks in under 50 ms"). The skeleton carries one
benchmark per criterion; L3 runs them in the sandbox and judges the median of several timed
repetitions against the budget (:class:`PerformancePolicy`, ``spec.validation.performance``).
Class docstrings become CRD descriptions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.models.base import WireModel

PerformanceMode = Literal["block", "report", "off"]

DEFAULT_REPETITIONS = 7
"""Timed runs per benchmark: the median of 7 ignores up to 3 runs slowed by a busy machine."""
DEFAULT_TOLERANCE = 0.25
"""Share over the budget still accepted: sandbox timing on a shared machine is noisy."""
DEFAULT_PERFORMANCE_RETRIES = 1
"""Regeneration rounds for the hot-path atoms of a missed budget (each costs one attempt)."""


class PerformanceCriterion(WireModel):
    """One measurable requirement: an operation on an input of a given size within a budget."""

    id: str = Field(description="The acceptance criterion it comes from (AC-n).")
    text: str = Field(description="The criterion as written.")
    operation: str = Field(description="What is timed, in the criterion's words ('list').")
    size: int = Field(ge=1, description="Input size the budget holds for (items, rows, calls).")
    unit: str = Field(default="items", description="What the size counts ('tasks').")
    budget_ms: float = Field(gt=0, description="Time budget for one run, milliseconds.")

    def describe(self) -> str:
        """One line: ``AC-7: list 10,000 tasks within 50 ms``."""
        return f"{self.id}: {self.operation} {self.size:,} {self.unit} within {self.budget_ms:g} ms"


class PerformancePolicy(WireModel):
    """How the L3 benchmarks are judged: block (retry the hot-path atoms of a miss; the run is
    not complete while it misses), report (listed only) or off (not run)."""

    mode: PerformanceMode = Field(default="block", description="block, report or off.")
    repetitions: int = Field(
        default=DEFAULT_REPETITIONS,
        ge=3,
        le=51,
        description="Timed runs per benchmark after one warm-up run; judged on their median.",
    )
    tolerance: float = Field(
        default=DEFAULT_TOLERANCE,
        ge=0.0,
        le=2.0,
        description="Accepted share over the budget (0.25: up to 125 % of it).",
    )
    retries: int = Field(
        default=DEFAULT_PERFORMANCE_RETRIES,
        ge=0,
        le=3,
        description="Regeneration rounds for the hot-path atoms of a missed budget.",
    )


class HotSpot(WireModel):
    """An atom on a benchmark's hot path and the time it took."""

    atom_id: str
    qualname: str = ""
    seconds: float = Field(description="Time in the atom and the library code it called, s.")
    share: float = Field(description="Share of the profiled run (0..1).")


class BenchmarkResult(WireModel):
    """One criterion's benchmark: the samples, the verdict and where the time went."""

    criterion: PerformanceCriterion
    benchmark: str = Field(default="", description="The benchmark file that ran.")
    samples_ms: list[float] = Field(default_factory=list, description="Timed runs, ms.")
    median_ms: float | None = None
    limit_ms: float = Field(description="Budget × (1 + tolerance): the median must not exceed it.")
    passed: bool
    reruns: int = Field(default=0, description="Extra runs after a near miss (0 or 1).")
    hot: list[HotSpot] = Field(
        default_factory=list, description="Atoms on the hot path, most time first."
    )
    error: str = Field(default="", description="Why the benchmark gave no verdict.")

    def figures(self) -> str:
        """``median 182.4 ms over 7 runs (min 170.1, max 201.0); budget 50 ms (+25 % → 62.5)``."""
        if self.median_ms is None:
            return self.error or "no measurement"
        lo, hi = min(self.samples_ms), max(self.samples_ms)
        c = self.criterion
        return (
            f"median {self.median_ms:.1f} ms over {len(self.samples_ms)} runs of size "
            f"{c.size:,} (min {lo:.1f}, max {hi:.1f}); budget {c.budget_ms:g} ms "
            f"(with tolerance {self.limit_ms:.1f} ms)"
        )


class PerformanceReport(WireModel):
    """Every benchmark of one run, after the retries its misses caused."""

    mode: PerformanceMode = "block"
    results: list[BenchmarkResult] = Field(default_factory=list)
    questions: list[str] = Field(
        default_factory=list,
        description="Performance requirements with no number or size (discovery questions).",
    )
    rounds: int = Field(default=1, description="Times the benchmarks ran (1 + retry rounds).")
    retried: list[str] = Field(
        default_factory=list, description="Atoms regenerated because a budget was missed."
    )
    caught: list[str] = Field(
        default_factory=list, description="The misses of earlier rounds that sent atoms back."
    )

    @property
    def missed(self) -> list[BenchmarkResult]:
        """Benchmarks over their budget (or without a verdict)."""
        return [r for r in self.results if not r.passed]

    @property
    def met(self) -> bool:
        """True when every benchmark is within its budget."""
        return not self.missed

    @property
    def blocking(self) -> bool:
        """True when a miss blocks completion."""
        return self.mode == "block" and not self.met
