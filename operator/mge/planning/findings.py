"""Findings: what plan validation reports, and how a report reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Finding", "Severity", "blocking", "render_report"]

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One problem with a plan: the rule it breaks, a sentence for a person, what it is about.

    Errors make the plan unusable (they trigger the repair round, then rejection); warnings are
    reported and the plan is used.
    """

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="Short kebab-case rule name, e.g. `dependency-cycle`.")
    message: str
    severity: Severity = "error"
    subjects: tuple[str, ...] = Field(default=(), description="Task ids, element names, files.")

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The errors among ``findings``."""
    return [f for f in findings if f.severity == "error"]


def render_report(findings: Iterable[Finding]) -> str:
    """Errors first, then warnings, one per line; '' when there are none."""
    ordered = sorted(findings, key=lambda f: (f.severity != "error", f.rule))
    return "\n".join(f"{f.severity}: {f}" for f in ordered)
