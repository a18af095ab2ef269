"""The evaluation report: per-problem outcomes, pass@1 before and after retries, and costs.

``pass@1 (first attempt)`` scores the code of attempt 1 of every problem on the hidden tests;
``pass@1 (after retries)`` scores the one answer MGE ends with per problem — the validated code,
or, for a problem that spent all its attempts, the last attempt's code. Both use one sample per
problem (no sampling estimator). Figures are computed from the per-problem rows (pure), so a
report's counts always add up.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mge.models.execution import Usage

__all__ = ["EvalReport", "ProblemResult", "render_markdown", "summarize"]


class ProblemResult(BaseModel):
    """What happened to one problem."""

    task_id: str
    visible_examples: int
    attempts: int
    validated: bool = Field(description="Passed MGE's validation (visible examples) at some point.")
    first_hidden_passed: bool
    final_hidden_passed: bool
    unparseable_answers: int = Field(description="Attempts whose answer held no usable code.")
    llm_errors: int = Field(description="Attempts lost to a model error (recorded as failed).")
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    seconds: float = 0.0
    final_detail: str = Field(default="", description="Why the final code failed the hidden test.")


class EvalReport(BaseModel):
    """One run of ``mge eval humaneval``."""

    benchmark: str = "HumanEval"
    command: str
    provider: str
    model: str
    base_url: str | None = None
    started_at: datetime
    wall_seconds: float
    max_attempts: int
    temperature: float
    max_tokens: int
    problems: int
    pass_at_1_first: float
    pass_at_1_final: float
    passed_first: int
    passed_final: int
    validated: int
    attempts_used: int
    unparseable_answers: int
    llm_errors: int
    usage: Usage
    cost_usd: float
    cost_recorded: bool = Field(
        default=False, description="True when costs come from recordings, not from a model."
    )
    environment: dict[str, str] = Field(default_factory=dict)
    results: list[ProblemResult]


def summarize(results: list[ProblemResult]) -> dict[str, object]:
    """The aggregate fields of a report from its rows (pure)."""
    n = len(results)
    first = sum(r.first_hidden_passed for r in results)
    final = sum(r.final_hidden_passed for r in results)
    usage = Usage()
    for r in results:
        usage = usage + r.usage
    return {
        "problems": n,
        "passed_first": first,
        "passed_final": final,
        "pass_at_1_first": round(first / n, 4) if n else 0.0,
        "pass_at_1_final": round(final / n, 4) if n else 0.0,
        "validated": sum(r.validated for r in results),
        "attempts_used": sum(r.attempts for r in results),
        "unparseable_answers": sum(r.unparseable_answers for r in results),
        "llm_errors": sum(r.llm_errors for r in results),
        "usage": usage,
        "cost_usd": round(sum(r.cost_usd for r in results), 6),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_markdown(report: EvalReport) -> str:
    """A short human-readable page for benchmarks/results/."""
    r = report
    rows = [
        f"# {r.benchmark}: {r.provider} / {r.model}",
        "",
        f"Run {r.started_at:%Y-%m-%d %H:%M} UTC, {r.wall_seconds:.0f} s wall. Command:",
        "",
        f"```\n{r.command}\n```",
        "",
        "| figure | value |",
        "|---|---|",
        f"| problems | {r.problems} |",
        f"| pass@1, first attempt (hidden tests) | {_pct(r.pass_at_1_first)} "
        f"({r.passed_first}/{r.problems}) |",
        f"| pass@1, after retries (hidden tests) | {_pct(r.pass_at_1_final)} "
        f"({r.passed_final}/{r.problems}) |",
        f"| passed MGE validation (visible examples only) | {r.validated}/{r.problems} |",
        f"| attempts used (max {r.max_attempts} per problem) | {r.attempts_used} |",
        f"| answers without usable code | {r.unparseable_answers} |",
        f"| attempts lost to model errors | {r.llm_errors} |",
        f"| tokens in / out | {r.usage.input_tokens} / {r.usage.output_tokens} |",
        f"| cost | ${r.cost_usd:.4f}{' (recorded, not spent)' if r.cost_recorded else ''} |",
        f"| temperature (attempt 1) / max tokens | {r.temperature} / {r.max_tokens} |",
        "",
        "Retries get feedback only from the examples visible in each prompt; the hidden tests "
        "score the first attempt's code and the final code once, in the sandbox, after the "
        "attempt loop. One sample per problem.",
    ]
    if r.environment:
        rows += ["", "Environment: " + ", ".join(f"{k} {v}" for k, v in r.environment.items())]
    return "\n".join(rows) + "\n"
