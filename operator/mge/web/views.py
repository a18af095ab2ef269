"""What the review interface's JSON API returns, built from store records (pure functions).

Every text here (code, feedback, suggestions, errors) is untrusted: it is returned as JSON
strings and the page renders it as text, never as markup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mge.models import AtomState
from mge.models.execution import Attempt, ValidationResult
from mge.models.review import WEIGHTS, ReviewItem
from mge.store.records import StoredAtom, StoredProject

__all__ = [
    "QUEUE_FILTERS",
    "QueueFilter",
    "atom_view",
    "item_version",
    "project_view",
    "queue_view",
]

QueueFilter = Literal["pending", "decided", "all"]
QUEUE_FILTERS: tuple[QueueFilter, ...] = ("pending", "decided", "all")
DONE_STATES = frozenset({AtomState.VALIDATED, AtomState.APPROVED, AtomState.IN_REVIEW})
"""Atoms that have code that passed (or is with a reviewer): the progress numerator."""


def item_version(item: ReviewItem) -> str:
    """A short hash of what a reviewer decides on: a page holding an older version is stale."""
    parts = (item.decision, item.code, item.edited_code or "", str(item.decided_at or ""))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def project_view(
    project: StoredProject,
    atom_counts: Mapping[AtomState, int],
    items: Sequence[ReviewItem],
    cost_usd: float,
) -> dict[str, Any]:
    """One row of the projects page."""
    total = sum(atom_counts.values())
    done = sum(n for s, n in atom_counts.items() if s in DONE_STATES)
    pending = sum(1 for i in items if i.decision == "pending")
    return {
        "key": project.key,
        "phase": project.phase,
        "atoms": total,
        "atomStates": {str(s): n for s, n in sorted(atom_counts.items())},
        "progress": round(100 * done / total) if total else 0,
        "review": {"total": len(items), "pending": pending, "decided": len(items) - pending},
        "costUsd": round(cost_usd, 4),
        "updatedAt": project.updated_at.isoformat(),
    }


def _parts(item: ReviewItem, weights: bool = True) -> dict[str, Any]:
    c = item.confidence
    parts: dict[str, Any] = {
        "score": c.score,
        "validation": c.validation,
        "attempts": c.attempts,
        "complexity": c.complexity,
        "integration": c.integration,
    }
    if weights:
        parts["weights"] = WEIGHTS
    return parts


def queue_view(items: Sequence[ReviewItem], which: QueueFilter) -> list[dict[str, Any]]:
    """The queue rows, least confident first (then by atom id), filtered by state."""
    picked = [
        i for i in items if which == "all" or (i.decision == "pending") == (which == "pending")
    ]
    picked.sort(key=lambda i: (i.confidence.score, i.atom_id))
    return [
        {
            "atom": i.atom_id,
            "reason": i.reason,
            "confidence": _parts(i, weights=False),
            "decision": i.decision,
            "decidedBy": i.decided_by,
            "where": i.context_summary.splitlines()[0] if i.context_summary else "",
            "version": item_version(i),
        }
        for i in picked
    ]


def _validation(v: ValidationResult) -> dict[str, Any]:
    return {
        "level": v.level,
        "subject": v.subject,
        "passed": v.passed,
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in v.checks],
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "temperature": a.temperature,
        "code": a.code,
        "error": a.error,
        "validation": None if a.validation is None else _validation(a.validation),
        "costUsd": a.cost_usd,
    }


def failures_by_level(
    attempts: Sequence[Attempt], validations: Sequence[ValidationResult]
) -> list[dict[str, Any]]:
    """Each failed check, with the level and where it was seen (an attempt, or a later
    module/system run naming the atom), in order."""
    out: list[dict[str, Any]] = []
    for a in attempts:
        if a.validation is not None:
            for c in a.validation.checks:
                if not c.passed:
                    out.append(
                        {
                            "level": a.validation.level,
                            "check": c.name,
                            "detail": c.detail,
                            "where": f"attempt {a.number}",
                        }
                    )
        elif a.error:
            out.append(
                {
                    "level": "",
                    "check": "generation",
                    "detail": a.error,
                    "where": f"attempt {a.number}",
                }
            )
    for v in validations:
        for c in v.checks:
            if not c.passed:
                out.append(
                    {"level": v.level, "check": c.name, "detail": c.detail, "where": v.subject}
                )
    return out


def atom_view(
    project: str,
    item: ReviewItem,
    atom: StoredAtom,
    dependencies: Sequence[StoredAtom],
    attempts: Sequence[Attempt],
    validations: Sequence[ValidationResult],
) -> dict[str, Any]:
    """The atom page: the item, the atom's contract and context, its history."""
    unit = atom.unit
    return {
        "project": project,
        "atom": item.atom_id,
        "version": item_version(item),
        "reason": item.reason,
        "decision": item.decision,
        "decidedBy": item.decided_by,
        "decidedAt": item.decided_at.isoformat() if item.decided_at else None,
        "feedback": item.feedback,
        "code": item.code,
        "editedCode": item.edited_code,
        "acceptedCode": atom.code if item.decision != "pending" else None,
        "suggestion": item.suggestion,
        "contextSummary": item.context_summary,
        "confidence": _parts(item),
        "atomState": str(atom.state),
        "unit": {
            "file": unit.file,
            "language": unit.language,
            "kind": str(unit.kind),
            "qualname": unit.qualname,
            "signature": unit.signature,
            "spec": unit.spec,
            "preconditions": unit.preconditions or unit.context.preconditions,
            "postconditions": unit.postconditions or unit.context.postconditions,
            "complexity": unit.complexity,
            "estimatedLoc": unit.estimated_loc,
            "testCases": unit.test_cases,
            "types": unit.context.types,
            "dependencySignatures": unit.context.dependency_signatures,
            "tests": unit.context.tests,
        },
        "dependencies": [
            {"atom": d.id, "qualname": d.unit.qualname, "signature": d.unit.signature}
            for d in dependencies
        ],
        "attempts": [_attempt(a) for a in attempts],
        "failures": failures_by_level(attempts, validations),
    }
