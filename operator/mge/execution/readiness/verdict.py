"""From a tool's run to a check result, and from findings to atoms (pure).

- :func:`check_result`: the tool's exit code and output → passed / findings / a tool error
  (a missing tool is named with what to install);
- :func:`attribute`: each finding whose line falls in an atom's span in the assembled file
  gets that atom's id;
- :func:`retry_feedback`: per atom, the blocking findings that name it, as the text its next
  attempt is given (like a failing test's output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mge.execution.readiness.checks import ToolCheck
from mge.models.readiness import CheckMode, Finding, ReadinessCheckResult, ReadinessReport

MAX_FINDINGS_PER_CHECK = 200
"""Findings kept per check in the report (the count says when more were found)."""
MAX_FEEDBACK_FINDINGS = 10
"""Findings quoted to one atom's retry."""

Spans = Mapping[str, Mapping[str, tuple[int, int]]]
"""path → atom id → (first, last) 1-based lines of the atom in the assembled file."""


def check_result(
    check: ToolCheck,
    mode: CheckMode,
    *,
    exit_code: int | None,
    output: str,
    detail: str,
    known: Sequence[str],
    version: str,
    extra: Sequence[Finding] = (),
) -> ReadinessCheckResult:
    """The verdict of one tool run. ``output`` is what the tool printed, ``detail`` the
    sandbox's one-paragraph account of the run (limits, signals), ``extra`` findings made
    without the tool (the install check's undeclared imports)."""
    tool = f"{check.tool} {version}".strip()
    if check.missing in output:
        return ReadinessCheckResult(
            name=check.name,
            tool=tool,
            mode=mode,
            passed=False,
            findings=list(extra),
            error=f"{check.tool} is not installed in the sandbox: install {tool.replace(' ', '==')}"
            f" ({check.install_hint})",
        )
    try:
        findings = [*extra, *check.parse(output, known)]
    except ValueError as e:
        findings, error = list(extra), f"unreadable {check.tool} output: {e}"
    else:
        error = ""
    if exit_code not in check.ok_codes:
        error = error or f"{check.tool} did not finish (exit {exit_code}): {detail}".strip()
    elif exit_code != 0 and not findings and not error:
        error = f"{check.tool} exited {exit_code} without a finding it could read:\n{output[-800:]}"
    return ReadinessCheckResult(
        name=check.name,
        tool=tool,
        mode=mode,
        passed=not findings and not error,
        findings=findings[:MAX_FINDINGS_PER_CHECK],
        error=error,
    )


def attribute(findings: Sequence[Finding], spans: Spans) -> list[Finding]:
    """``findings`` with ``atom_id`` set where the line falls in an atom's span."""
    out = []
    for f in findings:
        owner = None
        if f.line is not None:
            for atom_id, (first, last) in spans.get(f.path, {}).items():
                if first <= f.line <= last:
                    owner = atom_id
                    break
        out.append(f.model_copy(update={"atom_id": owner}) if owner != f.atom_id else f)
    return out


def retry_feedback(report: ReadinessReport) -> dict[str, str]:
    """Atom id → what its next attempt is told, for atoms named by blocking findings."""
    by_atom: dict[str, list[Finding]] = {}
    for check in report.checks:
        if check.mode != "block" or check.passed:
            continue
        for f in check.findings:
            if f.atom_id is not None:
                by_atom.setdefault(f.atom_id, []).append(f)
    feedback = {}
    for atom_id, found in sorted(by_atom.items()):
        lines = [f"- {f.text()}" for f in found[:MAX_FEEDBACK_FINDINGS]]
        if len(found) > MAX_FEEDBACK_FINDINGS:
            lines.append(f"- … and {len(found) - MAX_FEEDBACK_FINDINGS} more")
        feedback[atom_id] = (
            "The code passed its tests, but the production-readiness checks the project's CI "
            "runs found problems in this function. Rewrite it without them (same signature, "
            "same behaviour):\n" + "\n".join(lines)
        )
    return feedback
