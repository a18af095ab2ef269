"""Review: the atoms a human should look at, and the decision taken.

:class:`ReviewItem` is the store's record (``mge review`` reads it); the AtomReview custom
resource (:class:`AtomReviewSpec`, :class:`AtomReviewStatus`) is how a reviewer in the cluster
sees and decides the same item. They share :data:`Decision`, so they live together; the CRD in
``crds/`` is generated from them (``python -m mge.kube.crds``).
"""

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


# ---------------------------------------------------------------------------- AtomReview


class ProjectRef(WireModel):
    """The Project an AtomReview belongs to."""

    name: str = Field(min_length=1, max_length=253)


class AtomReviewSpec(WireModel):
    """What a reviewer patches: the decision, and code (edit) or feedback (regenerate)."""

    project_ref: ProjectRef
    atom_id: str = Field(min_length=1, max_length=128)
    decision: Decision = "pending"
    code: str | None = Field(default=None, max_length=65_536, description="For decision edit.")
    feedback: str | None = Field(
        default=None, max_length=8192, description="For decision regenerate."
    )


class ConfidenceStatus(WireModel):
    """The confidence score and its parts."""

    score: str = "0.00"
    validation: float = 0.0
    attempts: float = 0.0
    complexity: float = 0.0
    integration: float = 0.0


class DecisionRecord(WireModel):
    """A decision that was acted upon: who, when, what."""

    decision: Decision
    by: str = ""
    at: str = ""
    generation: int = 0


class AtomReviewStatus(WireModel):
    """Read-only facts for the reviewer, and the state of the decision."""

    model_config = WireModel.model_config | {"extra": "ignore"}

    state: Literal["Pending", "Validating", "Regenerating", "Accepted", "Rejected"] = "Pending"
    reason: str = ""
    code: str = ""
    file: str = ""
    context_summary: str = ""
    confidence: ConfidenceStatus = Field(default_factory=ConfidenceStatus)
    suggestion: str = ""
    message: str = ""
    history: list[DecisionRecord] = Field(default_factory=list)
    observed_generation: int = 0


# ---------------------------------------------------------------------------- decisions


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
