"""L4 production readiness: the policy a Project states, and what the checks found.

The checks are the ones a team's own CI runs on a Python or TypeScript project (lint, format,
whole-project types, security analysis, a secret scan, install + test in a fresh environment).
:class:`ReadinessPolicy` (``spec.validation.readiness``) says per check whether a failure
blocks completion (the atoms it names are retried with the findings, and the readiness check
fails), is only reported, or is not run. Class docstrings become CRD descriptions.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from mge.models.base import WireModel

ReadinessCheckName = Literal["lint", "format", "types", "security", "secrets", "install"]
READINESS_CHECKS: tuple[ReadinessCheckName, ...] = get_args(ReadinessCheckName)
"""Every readiness check, in the order they are reported."""

CheckMode = Literal["block", "report", "off"]

DEFAULT_READINESS_RETRIES = 1
"""Rounds of regeneration for atoms named by a blocking finding (each costs one attempt)."""


class ReadinessPolicy(WireModel):
    """Per readiness check: block (retry the atoms it names; the run is not ready while it
    fails), report (listed only) or off (not run)."""

    lint: CheckMode = Field(default="block", description="ruff check (ESLint for TS/JS).")
    format: CheckMode = Field(
        default="report", description="ruff format --check: layout only, so reported."
    )
    types: CheckMode = Field(default="block", description="mypy --strict (tsc --noEmit).")
    security: CheckMode = Field(
        default="block", description="bandit, severity medium and up: SQL from strings, eval…"
    )
    secrets: CheckMode = Field(default="block", description="detect-secrets over every file.")
    install: CheckMode = Field(
        default="block",
        description="The manifest declares every import; install + tests in a fresh environment.",
    )
    retries: int = Field(
        default=DEFAULT_READINESS_RETRIES,
        ge=0,
        le=3,
        description="Regeneration rounds for atoms named by blocking findings.",
    )

    def mode(self, check: ReadinessCheckName) -> CheckMode:
        """The mode of one check."""
        mode: CheckMode = getattr(self, check)
        return mode


class Finding(WireModel):
    """One problem a readiness tool reported."""

    check: ReadinessCheckName
    rule: str = Field(default="", description="The tool's rule id (F401, B608, …).")
    path: str = ""
    line: int | None = Field(default=None, description="1-based line; None for the whole file.")
    message: str
    atom_id: str | None = Field(
        default=None, description="The atom whose span holds the line, when one does."
    )

    def where(self) -> str:
        """``path:line`` (or the path alone, or nothing)."""
        if not self.path:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def text(self) -> str:
        """One line for a person or a retry prompt."""
        rule = f" {self.rule}" if self.rule else ""
        where = f" ({self.where()})" if self.path else ""
        return f"{self.check}{rule}: {self.message}{where}"


class ReadinessCheckResult(WireModel):
    """One readiness check: the tool, its verdict and its findings."""

    name: ReadinessCheckName
    tool: str = Field(description="The tool and version that ran, e.g. 'bandit 1.9.4'.")
    mode: CheckMode
    passed: bool
    findings: list[Finding] = Field(default_factory=list)
    error: str = Field(default="", description="Why the tool itself could not give a verdict.")


class ReadinessReport(WireModel):
    """Every readiness check of one run, after the retries its blocking findings caused."""

    language: str
    checks: list[ReadinessCheckResult] = Field(default_factory=list)
    rounds: int = Field(default=1, description="Times the checks ran (1 + retry rounds).")
    retried: list[str] = Field(
        default_factory=list, description="Atoms regenerated because of a blocking finding."
    )
    caught: list[Finding] = Field(
        default_factory=list,
        description="The blocking findings of earlier rounds that sent those atoms back.",
    )

    @property
    def blocking_failures(self) -> list[ReadinessCheckResult]:
        """Checks in block mode that failed."""
        return [c for c in self.checks if c.mode == "block" and not c.passed]

    @property
    def ready(self) -> bool:
        """True when no blocking check fails."""
        return not self.blocking_failures

    @property
    def findings(self) -> int:
        """Findings over every check."""
        return sum(len(c.findings) for c in self.checks)
