"""Review: confidence scores, the review queue with suggestions, and reviewers' decisions.

The decision functions serve both ``mge review`` and the operator's AtomReview patches.
"""

from mge.review.confidence import (
    ConfidenceScorer,
    attempts_part,
    complexity_part,
    integration_part,
    validation_part,
)
from mge.review.decisions import (
    DecisionResult,
    ReviewDeps,
    apply_decision,
    approve,
    edit,
    regenerate,
)
from mge.review.queue import (
    DEFAULT_FRACTION,
    ReviewQueue,
    ReviewStore,
    context_summary,
    save_review,
    select,
)

__all__ = [
    "DEFAULT_FRACTION",
    "ConfidenceScorer",
    "DecisionResult",
    "ReviewDeps",
    "ReviewQueue",
    "ReviewStore",
    "apply_decision",
    "approve",
    "attempts_part",
    "complexity_part",
    "context_summary",
    "edit",
    "integration_part",
    "regenerate",
    "save_review",
    "select",
    "validation_part",
]
