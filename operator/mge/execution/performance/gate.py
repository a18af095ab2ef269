"""The performance gate: run each criterion's benchmark in the sandbox on the assembled
codebase, judge the median against the budget, and name the atoms on the hot path of a miss.

All benchmarks of a round run one after the other in one sandbox item (one process sandbox
locally, one Job in the cluster), never side by side, so they do not slow each other down. A
near miss is measured again once (:data:`~mge.execution.performance.judge.NEAR_MISS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count

from mge.execution.performance.driver import (
    Measurement,
    benchmark_files,
    driver_command,
    parse_measurements,
)
from mge.execution.performance.judge import Spans, judge, result_of
from mge.execution.performance.node_driver import node_driver_command
from mge.models.performance import (
    BenchmarkResult,
    PerformanceCriterion,
    PerformancePolicy,
    PerformanceReport,
)
from mge.models.sandbox import SandboxBatch, SandboxItem, SandboxLimits
from mge.validation.codebase import Codebase, python_module_name
from mge.validation.sandboxed import BatchRunner

PERFORMANCE_TIMEOUT_SECONDS = 300.0
"""Wall clock for one round of every benchmark (each runs 1 + repetitions + 1 times)."""
PERFORMANCE_LIMITS = SandboxLimits(
    timeout_seconds=PERFORMANCE_TIMEOUT_SECONDS,
    memory_mb=2048,
    max_processes=16,
    max_output_bytes=4 * 1024 * 1024,
)
"""Inputs of a benchmark are larger than a unit test's (10,000 objects and more)."""

HARNESSES = {"python": ".py", "typescript": ".ts", "javascript": ".js"}
"""Languages with a benchmark harness, and their benchmark files' suffix."""

_rounds = count(1)


def codebase_spans(codebase: Codebase, codes: Mapping[str, str]) -> Spans:
    """Where each atom's code sits in its assembled file."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for path, atoms in codebase.atoms_by_file.items():
        if path not in codebase.files:
            continue
        assembly = codebase.render_file(path, codes, stub_missing=True)
        by_name = {a.qualname: a.id for a in atoms}
        out[path] = {by_name[q]: s for q, s in assembly.spans.items() if q in by_name}
    return out


class PerformanceGate:
    """Runs the benchmarks of ``criteria`` for a codebase (see module docstring)."""

    def __init__(
        self,
        codebase: Codebase,
        run_batch: BatchRunner,
        policy: PerformancePolicy,
        criteria: Sequence[PerformanceCriterion],
        *,
        language: str,
        unmeasured: Sequence[str] = (),
        limits: SandboxLimits = PERFORMANCE_LIMITS,
    ) -> None:
        self.codebase = codebase
        self.run_batch = run_batch
        self.policy = policy
        self.criteria = list(criteria)
        self.language = language
        self.unmeasured = list(unmeasured)
        self.limits = limits

    @property
    def active(self) -> bool:
        """True when there is something to measure or to report."""
        return self.policy.mode != "off" and bool(self.criteria or self.unmeasured)

    async def check(self, codes: Mapping[str, str]) -> PerformanceReport:
        """One round of every benchmark over the codebase with ``codes`` spliced in."""
        report = PerformanceReport(mode=self.policy.mode, questions=self.unmeasured)
        if not self.criteria or self.policy.mode == "off":
            return report
        benches = benchmark_files(self.codebase.files)
        tolerance = self.policy.tolerance
        results: dict[str, BenchmarkResult] = {}
        runnable: list[PerformanceCriterion] = []
        for c in self.criteria:
            if self.language not in HARNESSES:
                results[c.id] = self._error(
                    c, f"no benchmark harness for {self.language}: it is not measured yet"
                )
            elif c.id not in benches:
                results[c.id] = self._error(
                    c,
                    f"the skeleton has no benchmark for {c.id}: a file "
                    f"tests/benchmarks/bench_<name>{HARNESSES[self.language]} with "
                    f"CRITERION = {c.id!r} and setup(size)/run(state) functions",
                )
            else:
                runnable.append(c)
        spans = codebase_spans(self.codebase, codes)
        files = self.codebase.render(codes, stub_missing=True)
        first = await self._measure(runnable, benches, files)
        near: list[PerformanceCriterion] = []
        for c in runnable:
            m = first.get(c.id)
            _passed, close = judge(c, m.samples_ms if m else (), tolerance)
            if close and not (m and m.error):
                near.append(c)
            results[c.id] = result_of(
                c, benches[c.id], m, tolerance, spans=spans, atoms=self.codebase.atoms
            )
        if near:
            again = await self._measure(near, benches, files)
            for c in near:
                earlier = results[c.id].samples_ms
                results[c.id] = result_of(
                    c,
                    benches[c.id],
                    again.get(c.id),
                    tolerance,
                    spans=spans,
                    atoms=self.codebase.atoms,
                    reruns=1,
                    earlier=earlier,
                )
        report.results = [results[c.id] for c in self.criteria]
        return report

    def _error(self, criterion: PerformanceCriterion, error: str) -> BenchmarkResult:
        return BenchmarkResult(
            criterion=criterion,
            limit_ms=criterion.budget_ms * (1 + self.policy.tolerance),
            passed=False,
            error=error,
        )

    async def _measure(
        self,
        criteria: Sequence[PerformanceCriterion],
        benches: Mapping[str, str],
        files: Mapping[str, str],
    ) -> dict[str, Measurement]:
        if not criteria:
            return {}
        python = self.language == "python"
        config = [
            {
                "criterion": c.id,
                "module": python_module_name(benches[c.id]) if python else benches[c.id],
                "size": c.size,
                "repetitions": self.policy.repetitions,
            }
            for c in criteria
        ]
        command = driver_command(config) if python else node_driver_command(config)
        batch = SandboxBatch(
            batch_id=f"performance-{next(_rounds)}",
            language="python" if python else "javascript",
            limits=self.limits,
            shared_files=dict(files),
            items=[
                SandboxItem(
                    atom_id="performance",
                    command=command,
                    timeout_seconds=self.limits.timeout_seconds,
                )
            ],
        )
        result = await self.run_batch(batch)
        try:
            outcome = result.outcome("performance")
        except KeyError:
            return {}
        found = parse_measurements(outcome.stdout_tail)
        missing = [c.id for c in criteria if c.id not in found]
        if missing:
            detail = (outcome.detail + "\n" + outcome.stderr_tail[-1500:]).strip()
            for cid in missing:
                found[cid] = Measurement(
                    criterion=cid, error=f"the benchmark run ended without a result: {detail}"
                )
        return found
