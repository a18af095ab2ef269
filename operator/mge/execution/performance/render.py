"""performance.md: the benchmarks as the output folder shows them (pure)."""

from __future__ import annotations

from mge.models.performance import PerformanceReport

PERFORMANCE_FILE = "performance.md"


def render_performance(report: PerformanceReport) -> str:
    """A markdown page: the verdict, one row per criterion, the hot path of each miss."""
    verdict = "met" if report.met else "MISSED"
    lines = [
        "# Performance (L3)",
        "",
        f"Verdict: **{verdict}** (mode {report.mode}); benchmarks ran {report.rounds} time(s)"
        + (
            f"; regenerated for a missed budget: {', '.join(report.retried)}"
            if report.retried
            else ""
        )
        + ".",
        "",
        "Each benchmark: one warm-up run, then timed runs on a fresh input, judged on their "
        "median against the budget plus the tolerance; a near miss is measured once more.",
        "",
    ]
    if report.caught:
        lines += ["Missed and fixed by regeneration (earlier rounds):", ""]
        lines += [f"- {c}" for c in report.caught]
        lines.append("")
    if report.results:
        lines += [
            "| criterion | size | budget | median | runs | result |",
            "|---|---|---|---|---|---|",
        ]
        for r in report.results:
            c = r.criterion
            median = f"{r.median_ms:.1f} ms" if r.median_ms is not None else "—"
            result = "pass" if r.passed else ("error" if r.error else "miss")
            lines.append(
                f"| {c.id} {c.operation} | {c.size:,} {c.unit} | {c.budget_ms:g} ms "
                f"(≤ {r.limit_ms:.1f}) | {median} | {len(r.samples_ms)} | {result} |"
            )
        for r in report.results:
            if r.passed:
                continue
            lines += ["", f"## {r.criterion.id}: {r.criterion.text}", ""]
            lines.append(r.error if r.error else r.figures())
            for h in r.hot[:5]:
                name = h.qualname or h.atom_id
                lines.append(f"- `{name}` {h.seconds * 1000:.1f} ms ({h.share:.0%})")
    if report.questions:
        lines += ["", "Not measured (no number or size; see the discovery questions):", ""]
        lines += [f"- {q}" for q in report.questions]
    return "\n".join(lines) + "\n"
