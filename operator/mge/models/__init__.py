"""Domain types every stage passes around (pydantic v2, camelCase on the wire)."""

from mge.models.atoms import (
    AtomicityReport,
    AtomicUnit,
    AtomState,
    ContextPack,
    CriterionResult,
    Edge,
    Span,
    atom_id,
)
from mge.models.base import WireModel
from mge.models.domain import (
    AcceptanceCriterion,
    BoundedContext,
    DiscoveryResult,
    DomainModel,
    Entity,
    FieldDef,
    Question,
    TechStack,
)
from mge.models.execution import Attempt, CheckResult, Usage, ValidationResult
from mge.models.plan import Masterplan, Milestone, PlanPhase, Task
from mge.models.project import ProjectManifest, ProjectSpec
from mge.models.review import ConfidenceParts, ReviewItem

__all__ = [
    "AcceptanceCriterion",
    "AtomState",
    "AtomicUnit",
    "AtomicityReport",
    "Attempt",
    "BoundedContext",
    "CheckResult",
    "ConfidenceParts",
    "ContextPack",
    "CriterionResult",
    "DiscoveryResult",
    "DomainModel",
    "Edge",
    "Entity",
    "FieldDef",
    "Masterplan",
    "Milestone",
    "PlanPhase",
    "ProjectManifest",
    "ProjectSpec",
    "Question",
    "ReviewItem",
    "Span",
    "Task",
    "TechStack",
    "Usage",
    "ValidationResult",
    "WireModel",
    "atom_id",
]
