"""ConfidenceScorer: how sure MGE is of an atom's code, in [0, 1], with its four parts.

score = 0.4·validation + 0.3·attempts + 0.2·complexity + 0.1·integration
(:data:`mge.models.review.WEIGHTS`). Each part is in [0, 1]:

- **validation** — share of the accepted attempt's L1 checks that passed (parse, signature,
  compile, types, import, tests); capped at 0.7 when no unit test could run for it (code that
  only compiled is less certain); 0 without a validation result.
- **attempts** — passing on attempt n of m scores (m − n + 1) / m: 1 on the first try, 2/3 on
  the second, 1/3 on the third (m = 3); 0 when no attempt passed.
- **complexity** — from the written code's cyclomatic complexity c and lines of code l:
  0.7 · 1/(1 + (c − 1)/2) + 0.3 · min(1, 10/l). Simple short code is more likely right.
- **integration** — share of the integration test runs covering the atom that passed; 0.5
  when no integration test covered it yet (no evidence either way).

Pure: numbers in, ConfidenceParts out.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge.atomization.parsing import parse_file
from mge.execution.state import AtomProgress
from mge.models.atoms import AtomicUnit
from mge.models.execution import Attempt, ValidationResult
from mge.models.review import ConfidenceParts
from mge.validation.batch import DEFERRED

UNTESTED_VALIDATION_CAP = 0.7
"""Highest validation part of an atom none of whose unit tests could run."""

NO_INTEGRATION_EVIDENCE = 0.5
"""Integration part of an atom no integration test has covered yet."""

TARGET_LOC = 10
"""Lines of code an atom is meant to have at most."""

COMPLEXITY_SHARE = 0.7
"""Share of cyclomatic complexity in the complexity part (the rest is size)."""


def validation_part(result: ValidationResult | None) -> float:
    """Share of passed L1 checks, capped when the unit tests were deferred."""
    if result is None or not result.checks:
        return 0.0
    share = sum(c.passed for c in result.checks) / len(result.checks)
    deferred = any(c.name == "tests" and c.detail.startswith(DEFERRED) for c in result.checks)
    return round(min(share, UNTESTED_VALIDATION_CAP) if deferred else share, 4)


def attempts_part(passed_on: int | None, max_attempts: int) -> float:
    """(m − n + 1) / m for a pass on attempt n of m; 0 when nothing passed."""
    if passed_on is None or max_attempts < 1:
        return 0.0
    return round(max(0.0, min(1.0, (max_attempts - passed_on + 1) / max_attempts)), 4)


def complexity_part(complexity: int, loc: int) -> float:
    """0.7 · 1/(1 + (c − 1)/2) + 0.3 · min(1, 10/l)."""
    c_score = 1.0 / (1.0 + max(0, complexity - 1) / 2.0)
    size_score = 1.0 if loc <= TARGET_LOC else TARGET_LOC / loc
    return round(COMPLEXITY_SHARE * c_score + (1 - COMPLEXITY_SHARE) * size_score, 4)


def integration_part(runs: int, passes: int) -> float:
    """Passed share of the integration runs covering the atom; 0.5 without any."""
    if runs <= 0:
        return NO_INTEGRATION_EVIDENCE
    return round(max(0.0, min(1.0, passes / runs)), 4)


@dataclass(frozen=True)
class Measured:
    """Cyclomatic complexity and lines of code of written code."""

    complexity: int
    loc: int


def measure(atom: AtomicUnit, code: str) -> Measured:
    """Complexity and size of ``code`` (the atom's definition in it, via the atomization
    parser), falling back to the atom's estimates when the code holds no such definition."""
    if not code.strip():
        return Measured(atom.complexity, atom.estimated_loc)
    parsed = parse_file(atom.file, code, atom.language)
    last = atom.qualname.rsplit(".", 1)[-1]
    for d in parsed.definitions:
        if d.qualname == atom.qualname or d.name == last:
            return Measured(max(1, d.complexity), max(1, d.loc))
    lines = [ln for ln in code.splitlines() if ln.strip()]
    return Measured(atom.complexity, len(lines))


def passing_attempt(attempts: list[Attempt]) -> Attempt | None:
    """The last attempt whose validation passed, if any."""
    for a in reversed(attempts):
        if a.validation is not None and a.validation.passed:
            return a
    return None


class ConfidenceScorer:
    """Scores atoms from their attempts, code and integration record."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts

    def score(self, atom: AtomicUnit, progress: AtomProgress) -> ConfidenceParts:
        """The four parts for one atom (see module docstring)."""
        accepted = passing_attempt(progress.attempts)
        last = progress.attempts[-1] if progress.attempts else None
        shown = accepted or last
        code = progress.code or (shown.code if shown else "")
        m = measure(atom, code)
        return ConfidenceParts(
            validation=validation_part(shown.validation if shown else None),
            attempts=attempts_part(accepted.number if accepted else None, self.max_attempts),
            complexity=complexity_part(m.complexity, m.loc),
            integration=integration_part(progress.integration_runs, progress.integration_passes),
        )
