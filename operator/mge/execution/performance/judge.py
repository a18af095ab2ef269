"""From timed runs to a verdict, and from a miss to the atoms to send back (pure).

- :func:`judge`: the median of the samples against budget × (1 + tolerance); a miss close to
  the limit (:data:`NEAR_MISS`) is marked for one re-run, whose samples join the first ones;
- :func:`hot_path`: the atoms the benchmark reaches — the atoms its ``run`` calls, and what
  they depend on in the dependency graph — ranked by the time the profiled run spent in each;
- :func:`performance_feedback`: per hot atom of a missed budget, the figures its next attempt
  is given (like a failing test's output).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from mge.execution.performance.driver import Measurement
from mge.models.atoms import AtomicUnit
from mge.models.performance import BenchmarkResult, HotSpot, PerformanceCriterion, PerformanceReport

NEAR_MISS = 1.5
"""A median up to 1.5 × the limit is a near miss: measured again once before it counts (a
burst of load elsewhere on a shared machine can slow a whole series)."""
HOT_SHARE = 0.15
"""An atom taking at least this share of the profiled run is sent back on a miss (the top atom
always is)."""
MAX_HOT = 3
"""Atoms sent back per missed benchmark at most."""

Spans = Mapping[str, Mapping[str, tuple[int, int]]]
"""path → atom id → (first, last) 1-based lines of the atom in the assembled file."""


def limit_ms(criterion: PerformanceCriterion, tolerance: float) -> float:
    """The largest median accepted."""
    return criterion.budget_ms * (1.0 + tolerance)


def judge(
    criterion: PerformanceCriterion, samples: Sequence[float], tolerance: float
) -> tuple[bool, bool]:
    """(passed, near miss) for the samples of one benchmark; no samples is a miss."""
    if not samples:
        return False, False
    median = statistics.median(samples)
    limit = limit_ms(criterion, tolerance)
    return median <= limit, limit < median <= limit * NEAR_MISS


def atom_at(spans: Spans, path: str, line: int) -> str | None:
    """The atom whose span in ``path`` holds ``line``."""
    for atom_id, (first, last) in spans.get(path, {}).items():
        if first <= line <= last:
            return atom_id
    return None


def _closure(start: Iterable[str], atoms: Mapping[str, AtomicUnit]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        a = todo.pop()
        if a in seen or a not in atoms:
            continue
        seen.add(a)
        todo.extend(atoms[a].dependencies)
    return seen


def hot_path(
    measurement: Measurement, benchmark: str, spans: Spans, atoms: Mapping[str, AtomicUnit]
) -> list[HotSpot]:
    """Atoms the benchmark reaches, most time first.

    The entry atoms are those the profile shows called from the benchmark file; the hot path
    is their closure over the dependency graph. Time of a function (and the library code it
    called directly) counts for the atom whose span holds the function's first line, so
    lambdas and comprehensions count for the atom they are written in. Profiled atoms outside
    the closure (reached through a callback the graph cannot see) still count.
    """
    seconds: dict[str, float] = {}
    entry: set[str] = set()
    for f in measurement.profile:
        atom_id = atom_at(spans, f.path, f.line)
        if atom_id is None:
            continue
        seconds[atom_id] = seconds.get(atom_id, 0.0) + f.seconds
        if any(c[0] == benchmark for c in f.callers):
            entry.add(atom_id)
    reach = _closure(entry, atoms) | set(seconds)
    total = measurement.total_s or sum(seconds.values()) or 1.0
    spots = [
        HotSpot(
            atom_id=a,
            qualname=atoms[a].qualname if a in atoms else "",
            seconds=round(seconds.get(a, 0.0), 6),
            share=round(min(1.0, seconds.get(a, 0.0) / total), 4),
        )
        for a in reach
    ]
    return sorted(spots, key=lambda s: (-s.seconds, s.atom_id))


def result_of(
    criterion: PerformanceCriterion,
    benchmark: str,
    measurement: Measurement | None,
    tolerance: float,
    *,
    spans: Spans,
    atoms: Mapping[str, AtomicUnit],
    reruns: int = 0,
    earlier: Sequence[float] = (),
) -> BenchmarkResult:
    """The verdict of one benchmark (``earlier``: samples of the run before a re-run)."""
    limit = limit_ms(criterion, tolerance)
    if measurement is None:
        return BenchmarkResult(
            criterion=criterion,
            benchmark=benchmark,
            limit_ms=limit,
            passed=False,
            reruns=reruns,
            error="the benchmark printed no result (see the sandbox output)",
        )
    samples = [*earlier, *measurement.samples_ms]
    if measurement.error or not samples:
        return BenchmarkResult(
            criterion=criterion,
            benchmark=benchmark,
            samples_ms=[round(s, 3) for s in samples],
            limit_ms=limit,
            passed=False,
            reruns=reruns,
            error=measurement.error or "no timed run",
        )
    passed, _near = judge(criterion, samples, tolerance)
    return BenchmarkResult(
        criterion=criterion,
        benchmark=benchmark,
        samples_ms=[round(s, 3) for s in samples],
        median_ms=round(statistics.median(samples), 3),
        limit_ms=round(limit, 3),
        passed=passed,
        reruns=reruns,
        hot=hot_path(measurement, benchmark, spans, atoms),
    )


def to_send_back(result: BenchmarkResult) -> list[str]:
    """The hot atoms of a missed benchmark: every atom over :data:`HOT_SHARE` of the run (at
    most :data:`MAX_HOT`), or the top one."""
    if result.passed or result.median_ms is None or not result.hot:
        return []
    picked = [h.atom_id for h in result.hot if h.share >= HOT_SHARE][:MAX_HOT]
    return picked or [result.hot[0].atom_id]


def performance_feedback(report: PerformanceReport) -> dict[str, str]:
    """Atom id → what its next attempt is told, for the hot atoms of missed benchmarks."""
    feedback: dict[str, list[str]] = {}
    for r in report.missed:
        for atom_id in to_send_back(r):
            spot = next(h for h in r.hot if h.atom_id == atom_id)
            feedback.setdefault(atom_id, []).append(
                f"- {r.criterion.id} \u201c{r.criterion.text}\u201d: the benchmark "
                f"{r.benchmark} measured {r.figures()}. This function took "
                f"{spot.seconds * 1000:.1f} ms of the profiled run "
                f"({spot.share:.0%})."
            )
    return {
        atom_id: (
            "The code passes its tests, but it is too slow for a performance requirement of "
            "the project. Rewrite it to meet the budget at that input size (same signature, "
            "same behaviour): avoid work that grows with the square of the input (a search or "
            "copy inside a loop), sort once, index instead of scanning.\n" + "\n".join(lines)
        )
        for atom_id, lines in sorted(feedback.items())
    }
