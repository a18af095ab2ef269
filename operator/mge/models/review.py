"""Review items: the atoms a human should look at, and the decision taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from mge.models.base import WireModel

Decision = Literal["pending", "approve", "edit", "regenerate"]

WEIGHTS = {"validation": 0.4, "attempts": 0.3, "complexity": 0.2, "integration": 0.1}
"""Confidence weights: validation 40%, attempts 30%, complexity 20%, integration 10%."""


class ConfidenceParts(WireModel):
    """Each part in [0, 1]; the score is their weighted sum."""

    validation: float = Field(ge=0.0, le=1.0)
    attempts: float = Field(ge=0.0, le=1.0)
    complexity: float = Field(ge=0.0, le=1.0)
    integration: float = Field(ge=0.0, le=1.0)

    @property
    def score(self) -> float:
        """Weighted confidence in [0, 1]."""
        total: float = sum(float(getattr(self, k)) * w for k, w in WEIGHTS.items())
        return round(total, 4)


class ReviewItem(WireModel):
    """An atom queued for a human, with everything needed to decide."""

    atom_id: str
    reason: Literal["low_confidence", "failed"]
    code: str
    confidence: ConfidenceParts
    context_summary: str = ""
    suggestion: str = ""
    decision: Decision = "pending"
    edited_code: str | None = None
    feedback: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class ReviewDecision:
    """What a reviewer decided about one atom, as any front end receives it (`mge review`, an
    AtomReview patch, the web review interface); carried out by
    :func:`mge.pipeline.review_decision.carry_out_decision`."""

    atom: str
    decision: Decision
    code: str | None = None
    """The reviewer's code (``edit``)."""
    feedback: str | None = None
    """What should change (``regenerate``)."""
    by: str | None = None
    """Who decided (recorded on the item)."""
