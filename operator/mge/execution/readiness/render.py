"""readiness.md: the readiness report as the output folder shows it (pure)."""

from __future__ import annotations

from mge.models.readiness import ReadinessReport

READINESS_FILE = "readiness.md"


def render_readiness(report: ReadinessReport) -> str:
    """A markdown page: the verdict, one row per check, then the findings by check and atom."""
    verdict = "ready" if report.ready else "NOT ready"
    blocking = ", ".join(c.name for c in report.blocking_failures)
    lines = [
        "# Production readiness",
        "",
        f"Verdict: **{verdict}**" + (f" (blocking: {blocking})" if blocking else "") + ".",
        f"Language: {report.language}; checks ran {report.rounds} time(s)"
        + (
            f"; regenerated for a blocking finding: {', '.join(report.retried)}"
            if report.retried
            else ""
        )
        + ".",
        "",
    ]
    if report.caught:
        lines += ["Caught and fixed by regeneration (earlier rounds):", ""]
        lines += [f"- {f.text()} — atom `{f.atom_id}`" for f in report.caught]
        lines.append("")
    if not report.checks:
        lines += [f"No readiness checks are defined for {report.language} yet.", ""]
        return "\n".join(lines)
    lines += ["| check | tool | mode | result | findings |", "|---|---|---|---|---|"]
    for c in report.checks:
        result = "pass" if c.passed else ("error" if c.error else "fail")
        lines.append(f"| {c.name} | {c.tool} | {c.mode} | {result} | {len(c.findings)} |")
    for c in report.checks:
        if c.passed:
            continue
        lines += ["", f"## {c.name} ({c.tool}, {c.mode})", ""]
        if c.error:
            lines += [f"The tool gave no verdict: {c.error}", ""]
        for f in c.findings:
            atom = f"atom `{f.atom_id}`" if f.atom_id else "no atom (skeleton or manifest)"
            rule = f"`{f.rule}` " if f.rule else ""
            where = f"`{f.where()}` " if f.path else ""
            message = f.message.splitlines()[0] if f.message else ""
            lines.append(f"- {where}{rule}{message} — {atom}")
    return "\n".join(lines) + "\n"
