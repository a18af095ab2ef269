"""AtomReview objects: names, bodies, who decided, and what a decision asks the operator to do.

The decision rules are pure; :func:`record_decision` is the one I/O helper (status write through
the KubeClient). A decision is acted on once per AtomReview ``metadata.generation``: the status
keeps ``observedGeneration``, so a resumed operator does not act twice.

Who decided: the annotation ``mge.dev/decided-by`` if the reviewer set it, else the field
manager that last wrote ``spec.decision`` (``managedFields``; kubectl reports e.g.
``kubectl-patch`` — the API server does not record the user there; an audit log does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mge.kube import children
from mge.kube.conditions import now_rfc3339
from mge.models.project import API_GROUP, API_VERSION
from mge.models.review import (
    AtomReviewSpec,
    AtomReviewStatus,
    ConfidenceStatus,
    DecisionRecord,
    ReviewItem,
)

ANNOTATION_DECIDED_BY = f"{API_GROUP}/decided-by"

ReviewStep = Literal["none", "accept", "validate-edit", "regenerate"]


def review_name(project: str, atom_id: str) -> str:
    """``<project>-<atomId>`` as a DNS-1123 name, trimmed deterministically (hash suffix)."""
    safe = re.sub(r"[^a-z0-9-]+", "-", atom_id.lower()).strip("-") or "atom"
    name = children.child_name(project, safe)
    if safe != atom_id and len(name) < children.MAX_NAME - 7:
        # Two atom ids that differ only in case or punctuation must not share a name.
        name = children.child_name(project, safe, children._short(atom_id, 6))
    return name


def atom_review_body(
    *,
    project: str,
    namespace: str,
    owner: dict[str, Any],
    atom_id: str,
) -> dict[str, Any]:
    """A new AtomReview (pending) for ``atom_id``; the read-only facts go into its status."""
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "AtomReview",
        "metadata": {
            "name": review_name(project, atom_id),
            "namespace": namespace,
            "labels": {children.LABEL_PROJECT: project},
            "ownerReferences": [children.owner_reference(owner)],
        },
        "spec": {"projectRef": {"name": project}, "atomId": atom_id, "decision": "pending"},
    }


def decided_by(body: Mapping[str, Any]) -> str:
    """Who made the decision (annotation, else the manager that last set spec.decision)."""
    meta = body.get("metadata") or {}
    who = (meta.get("annotations") or {}).get(ANNOTATION_DECIDED_BY)
    if who:
        return str(who)
    best: tuple[str, str] | None = None
    for entry in meta.get("managedFields") or []:
        fields = entry.get("fieldsV1") or {}
        if "f:decision" in (fields.get("f:spec") or {}):
            stamp = str(entry.get("time") or "")
            if best is None or stamp >= best[0]:
                best = (stamp, str(entry.get("manager") or ""))
    return best[1] if best else "unknown"


@dataclass(frozen=True)
class ReviewPlan:
    """What to do about one AtomReview, and its new status."""

    step: ReviewStep
    status: AtomReviewStatus


def decide_review(
    spec: AtomReviewSpec,
    status: AtomReviewStatus,
    *,
    generation: int,
    by: str,
    now: datetime,
) -> ReviewPlan:
    """The step a decision asks for (pure). Acts once per generation; ``pending`` waits."""
    if spec.decision == "pending" or status.observed_generation >= generation:
        return ReviewPlan("none", status)
    record = DecisionRecord(
        decision=spec.decision, by=by, at=now_rfc3339(now), generation=generation
    )
    history = [*status.history, record]
    base = {"history": history, "observed_generation": generation}
    if spec.decision == "approve":
        new = status.model_copy(
            update={**base, "state": "Accepted", "message": f"approved by {by}"}
        )
        return ReviewPlan("accept", new)
    if spec.decision == "edit":
        new = status.model_copy(
            update={**base, "state": "Validating", "message": "validating the edited code"}
        )
        return ReviewPlan("validate-edit", new)
    new = status.model_copy(
        update={**base, "state": "Regenerating", "message": "regenerating with the feedback"}
    )
    return ReviewPlan("regenerate", new)


def settle(
    status: AtomReviewStatus, *, accepted: bool, code: str, message: str
) -> AtomReviewStatus:
    """The status after an edit was validated or a regeneration ran."""
    return status.model_copy(
        update={
            "state": "Accepted" if accepted else "Rejected",
            "code": code or status.code,
            "message": message,
        }
    )


def is_decided(status: Mapping[str, Any] | None) -> bool:
    """True when an AtomReview's status says its atom is settled (accepted)."""
    return bool(status) and (status or {}).get("state") == "Accepted"


def status_from_item(item: ReviewItem, file: str = "") -> AtomReviewStatus:
    """The read-only facts a reviewer sees, from the store's review item (pure)."""
    parts = item.confidence
    return AtomReviewStatus(
        state="Pending",
        reason=item.reason,
        code=item.code,
        file=file,
        context_summary=item.context_summary,
        confidence=ConfidenceStatus(
            score=f"{parts.score:.2f}",
            validation=parts.validation,
            attempts=parts.attempts,
            complexity=parts.complexity,
            integration=parts.integration,
        ),
        suggestion=item.suggestion,
    )
