"""Custom resource shapes: the status of a Project, and the AtomReview spec and status.

The Project spec is :class:`mge.models.project.ProjectSpec` — the same model `mge run` reads from
a file. CRD YAML in ``crds/`` is generated from these models (see crds.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.kube.conditions import Condition
from mge.models.base import WireModel
from mge.models.domain import Question
from mge.models.review import Decision


class Progress(WireModel):
    """Counts a person watches: atoms and levels."""

    atoms_total: int = 0
    atoms_done: int = 0
    atoms_failed: int = 0
    atoms_in_review: int = 0
    level: int = 0
    levels: int = 0
    percent: int = Field(default=0, ge=0, le=100)


class Cost(WireModel):
    """Money and tokens spent so far."""

    usd: str = Field(default="0.00", description="Spent, USD, as text for the printer column.")
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0


class DiscoveryStatus(WireModel):
    """Open clarifying questions (interactive projects) — answer via spec.discovery.answers."""

    questions: list[Question] = Field(default_factory=list)


class OutputStatus(WireModel):
    """Where the result is (never any credential)."""

    git_commit: str | None = Field(default=None, description="Commit on the branch (pushed).")
    branch: str | None = None
    store_key: str | None = None
    repository: str | None = Field(default=None, description="spec.output.git.repository.")
    pushed_generation: int | None = Field(
        default=None, description="The generation whose codebase gitCommit holds."
    )
    push_failures: int | None = Field(default=None, description="Failed pushes in a row.")
    push_error: str | None = Field(default=None, description="The last push failure.")
    last_push_at: str | None = Field(default=None, description="Last push attempt (RFC 3339).")


class ProjectStatus(WireModel):
    """What the operator reports; summaries only, the atoms live in the store."""

    model_config = WireModel.model_config | {"extra": "ignore"}

    phase: str = "Pending"
    observed_generation: int = 0
    conditions: list[Condition] = Field(default_factory=list)
    progress: Progress = Field(default_factory=Progress)
    cost: Cost = Field(default_factory=Cost)
    discovery: DiscoveryStatus | None = None
    output: OutputStatus | None = None
    message: str = ""


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
