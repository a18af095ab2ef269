"""Domain types every stage passes around (pydantic v2, camelCase on the wire).

The Project (spec, status, phase) is in :mod:`mge.models.project`; the masterplan, with its own
:class:`PlanPhase`, in :mod:`mge.models.plan`.
"""

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
from mge.models.project import Phase, ProjectManifest, ProjectSpec, ProjectStatus
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
    "Phase",
    "PlanPhase",
    "ProjectManifest",
    "ProjectSpec",
    "ProjectStatus",
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
