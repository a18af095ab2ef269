"""Custom resource shapes of the AtomReview: its spec and status.

The Project's spec, status and phase live together in :mod:`mge.models.project`. CRD YAML in
``crds/`` is generated from these models (see crds.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.models.base import WireModel
from mge.models.review import Decision


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
