"""The retry policy: which temperature and what feedback each attempt gets (pure).

Attempt 1 runs at the project's temperature with no feedback. Attempt 2 runs at 0.5 with the
previous code, the error and a short analysis. Attempt 3 (and any later one) runs at 0.3 with a
detailed analysis: every failing check, the code lines the error points at and a fix hint.
Feedback from outside the attempt loop (a failed integration test, a reviewer's note) is added
to whatever the attempt would get anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge.models.execution import Attempt
from mge.validation.diagnosis import FailureAnalysis, analyze

RETRY_TEMPERATURES: tuple[float, ...] = (0.5, 0.3)
"""Temperatures of attempts 2 and 3; later attempts keep the last one."""

DETAILED_FROM_ATTEMPT = 3
"""From this attempt on, the analysis fed back is the detailed one."""

ATTEMPT_KEY = "atom/{atom_id}/attempt-{number}"
REGENERATE_KEY = "atom/{atom_id}/regenerate-{number}"


@dataclass(frozen=True)
class AttemptPlan:
    """Everything that differs between attempts of one atom."""

    atom_id: str
    number: int
    temperature: float
    key: str
    previous_code: str | None = None
    analysis: FailureAnalysis | None = None
    detailed: bool = False
    feedback: str | None = None

    @property
    def is_retry(self) -> bool:
        """True when the prompt carries a previous attempt or outside feedback."""
        return self.previous_code is not None or self.feedback is not None

    def analysis_text(self) -> str:
        """The analysis as it goes into the prompt ('' on a first attempt)."""
        return self.analysis.render(self.detailed) if self.analysis else ""


def temperature_for(number: int, base: float) -> float:
    """Attempt ``number``'s temperature: ``base`` first, then 0.5, then 0.3 from attempt 3 on."""
    if number <= 1:
        return base
    return RETRY_TEMPERATURES[min(number - 2, len(RETRY_TEMPERATURES) - 1)]


def plan_attempt(
    atom_id: str,
    history: list[Attempt],
    base_temperature: float,
    feedback: str | None = None,
) -> AttemptPlan:
    """The next attempt of an atom given its earlier attempts (oldest first)."""
    number = len(history) + 1
    last = history[-1] if history else None
    failed = last is not None and (last.validation is None or not last.validation.passed)
    # A last attempt that passed was sent back from outside (integration): the feedback says why.
    analysis = analyze(last.validation, last.code, last.error) if last and failed else None
    return AttemptPlan(
        atom_id=atom_id,
        number=number,
        temperature=temperature_for(number, base_temperature),
        key=ATTEMPT_KEY.format(atom_id=atom_id, number=number),
        previous_code=last.code if last else None,
        analysis=analysis,
        detailed=number >= DETAILED_FROM_ATTEMPT,
        feedback=feedback,
    )


def plan_regeneration(
    atom_id: str,
    history: list[Attempt],
    regeneration: int,
    base_temperature: float,
    feedback: str,
) -> AttemptPlan:
    """A reviewer-requested attempt: key ``atom/<id>/regenerate-<n>``, the reviewer's feedback,
    the last attempt and its detailed analysis (when it failed), at the first-attempt
    temperature (the reviewer asks for a different answer, not a cautious repeat)."""
    last = history[-1] if history else None
    failed = last is not None and (last.validation is None or not last.validation.passed)
    analysis = analyze(last.validation, last.code, last.error) if last and failed else None
    return AttemptPlan(
        atom_id=atom_id,
        number=len(history) + 1,
        temperature=base_temperature,
        key=REGENERATE_KEY.format(atom_id=atom_id, number=regeneration),
        previous_code=last.code if last else None,
        analysis=analysis,
        detailed=True,
        feedback=feedback,
    )
