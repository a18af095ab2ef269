"""Attempts and validation results."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.models.base import WireModel

ValidationLevel = Literal["L1", "L2", "L3", "L4"]


class CheckResult(WireModel):
    """One check inside a validation level (parse, compile, types, tests, …)."""

    name: str
    passed: bool
    detail: str = Field(default="", description="Error text, truncated; fed back on retry.")


class ValidationResult(WireModel):
    """The result of one validation level for one subject (atom, module, component, system)."""

    level: ValidationLevel
    subject: str = Field(description="Atom id, module path, component name or 'system'.")
    passed: bool
    checks: list[CheckResult] = Field(default_factory=list)

    def first_failure(self) -> str:
        """The first failing check as `name: detail`, or '' when all passed."""
        for c in self.checks:
            if not c.passed:
                return f"{c.name}: {c.detail}"
        return ""


class Usage(WireModel):
    """Token usage of one LLM call."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Attempt(WireModel):
    """One try at generating an atom, stored whatever its outcome."""

    atom_id: str
    number: int = Field(ge=1)
    temperature: float
    prompt_hash: str
    code: str
    validation: ValidationResult | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    duration_s: float = 0.0
    error: str = ""
