"""The review interface's JSON shapes built from Kubernetes objects (pure functions).

The cluster backend reads Projects and AtomReviews as the reviewer and turns them into the same
shapes the local store gives (:mod:`mge.web.views`), so the pages do not know which backend
they talk to. A decision is a merge patch of the AtomReview's spec with the
``mge.dev/decided-by`` annotation naming the authenticated user, guarded by the
``resourceVersion`` the server read (a precondition: a change in between is a 409).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from mge.kube.reviews import ANNOTATION_DECIDED_BY
from mge.models.review import WEIGHTS, ReviewDecision
from mge.web.views import QueueFilter

__all__ = [
    "READ_ONLY_MESSAGE",
    "decision_patch",
    "is_open",
    "kube_atom_view",
    "kube_marks",
    "kube_outcome",
    "kube_project_view",
    "kube_queue_view",
    "kube_version",
    "language_of",
    "stale_reason",
]

READ_ONLY_MESSAGE = (
    "Read-only: you ({user}) may read the review queue of namespace {namespace} but not decide "
    "(no 'patch' on atomreviews.mge.dev there). Ask for the reviewer role "
    "(ClusterRole <release>-reviewer, bound in that namespace)."
)
"""What a reviewer without ``patch`` sees instead of the actions (and instead of a 500)."""
SETTLED = frozenset({"Accepted", "Rejected"})


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def project_of(review: Mapping[str, Any]) -> str:
    """``namespace/name`` of the Project an AtomReview belongs to (the store's key too)."""
    ref = (_spec(review).get("projectRef") or {}).get("name", "")
    return f"{_meta(review).get('namespace', '')}/{ref}"


def kube_version(review: Mapping[str, Any]) -> str:
    """A short hash of what a reviewer decides on and its outcome: a page holding an older
    one is stale (the same role as :func:`mge.web.views.item_version`)."""
    spec, status = _spec(review), _status(review)
    parts = (
        str(spec.get("decision", "pending")),
        str(spec.get("code") or ""),
        str(status.get("code") or ""),
        str(status.get("state") or ""),
        str(_meta(review).get("generation", 0)),
    )
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def is_open(review: Mapping[str, Any]) -> bool:
    """Whether a reviewer can decide it now: pending, or the operator rejected the last
    decision (an edit that failed validation, a regeneration that did): decide again."""
    status = _status(review)
    if _spec(review).get("decision", "pending") == "pending":
        return True
    generation = int(_meta(review).get("generation", 0) or 0)
    observed = int(status.get("observedGeneration", 0) or 0)
    return status.get("state") == "Rejected" and observed >= generation


def decided_by_of(review: Mapping[str, Any]) -> str | None:
    """Who decided: the annotation, else the newest history record, else nobody yet."""
    if _spec(review).get("decision", "pending") == "pending":
        return None
    who = (_meta(review).get("annotations") or {}).get(ANNOTATION_DECIDED_BY)
    if who:
        return str(who)
    history = _status(review).get("history") or []
    return str(history[-1].get("by") or "") or None if history else None


def _confidence(review: Mapping[str, Any], weights: bool) -> dict[str, Any]:
    c = _status(review).get("confidence") or {}
    try:
        score = float(c.get("score", "0") or 0)
    except ValueError:
        score = 0.0
    out: dict[str, Any] = {
        "score": score,
        "validation": float(c.get("validation", 0.0) or 0.0),
        "attempts": float(c.get("attempts", 0.0) or 0.0),
        "complexity": float(c.get("complexity", 0.0) or 0.0),
        "integration": float(c.get("integration", 0.0) or 0.0),
    }
    if weights:
        out["weights"] = WEIGHTS
    return out


def _where(review: Mapping[str, Any]) -> str:
    status = _status(review)
    summary = str(status.get("contextSummary") or "")
    return str(status.get("file") or "") or (summary.splitlines()[0] if summary else "")


def kube_queue_view(
    reviews: Sequence[Mapping[str, Any]], which: QueueFilter
) -> list[dict[str, Any]]:
    """Queue rows from AtomReviews, least confident first (then by atom id), by state."""
    picked = [r for r in reviews if which == "all" or is_open(r) == (which == "pending")]
    rows: list[dict[str, Any]] = [
        {
            "atom": str(_spec(r).get("atomId", "")),
            "reason": str(_status(r).get("reason") or ""),
            "confidence": _confidence(r, weights=False),
            "decision": str(_spec(r).get("decision", "pending")),
            "decidedBy": decided_by_of(r),
            "where": _where(r),
            "version": kube_version(r),
            "state": str(_status(r).get("state") or "Pending"),
            "open": is_open(r),
        }
        for r in picked
    ]
    rows.sort(key=lambda row: (float(row["confidence"]["score"]), str(row["atom"])))
    return rows


def kube_project_view(
    project: Mapping[str, Any], reviews: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """One row of the projects page from a Project and its AtomReviews."""
    status = _status(project)
    progress = status.get("progress") or {}
    cost = status.get("cost") or {}
    pending = sum(1 for r in reviews if is_open(r))
    try:
        usd = float(cost.get("usd", "0") or 0)
    except ValueError:
        usd = 0.0
    times = [str(c.get("lastTransitionTime") or "") for c in status.get("conditions") or []]
    return {
        "key": f"{_meta(project).get('namespace', '')}/{_meta(project).get('name', '')}",
        "phase": str(status.get("phase") or "Pending"),
        "atoms": int(progress.get("atomsTotal", 0) or 0),
        "atomStates": {},
        "progress": int(progress.get("percent", 0) or 0),
        "review": {"total": len(reviews), "pending": pending, "decided": len(reviews) - pending},
        "costUsd": round(usd, 4),
        "updatedAt": max(times, default="") or str(_meta(project).get("creationTimestamp", "")),
    }


def language_of(file: str) -> str:
    """The editor mode for a file name (Python unless it is TypeScript/JavaScript)."""
    if file.endswith((".ts", ".tsx")):
        return "typescript"
    if file.endswith((".js", ".jsx", ".mjs")):
        return "javascript"
    return "python"


def kube_atom_view(
    key: str,
    review: Mapping[str, Any],
    details: Mapping[str, Any] | None,
    read_only: str | None,
) -> dict[str, Any]:
    """The atom page from an AtomReview; ``details`` (the store's atom page, read only after
    the user was allowed to read this AtomReview) adds the contract, context and attempts."""
    spec, status = _spec(review), _status(review)
    atom_id = str(spec.get("atomId", ""))
    file = str(status.get("file") or "")
    decision = str(spec.get("decision", "pending"))
    state = str(status.get("state") or "Pending")
    history = status.get("history") or []
    base: dict[str, Any] = {
        "unit": {
            "file": file,
            "language": language_of(file),
            "kind": "",
            "qualname": atom_id,
            "signature": "",
            "spec": "",
            "preconditions": [],
            "postconditions": [],
            "complexity": 0,
            "estimatedLoc": 0,
            "testCases": [],
            "types": [],
            "dependencySignatures": [],
            "tests": [],
        },
        "dependencies": [],
        "attempts": [],
        "failures": [],
        "atomState": "",
    }
    if details is not None:
        base = {k: details[k] for k in base if k in details}
    accepted = state == "Accepted"
    return {
        **base,
        "project": key,
        "atom": atom_id,
        "version": kube_version(review),
        "reason": str(status.get("reason") or ""),
        "decision": decision,
        "decidedBy": decided_by_of(review),
        "decidedAt": str(history[-1].get("at") or "") or None if history else None,
        "feedback": spec.get("feedback"),
        "code": str(status.get("code") or ""),
        "editedCode": spec.get("code") if decision == "edit" else None,
        "acceptedCode": str(status.get("code") or "") if accepted else None,
        "suggestion": str(status.get("suggestion") or ""),
        "contextSummary": str(status.get("contextSummary") or ""),
        "confidence": _confidence(review, weights=True),
        "state": state,
        "message": str(status.get("message") or ""),
        "details": details is not None,
        "readOnly": read_only,
        "open": is_open(review),
    }


def stale_reason(review: Mapping[str, Any], version: str) -> str | None:
    """Why a decision posted by a page that saw ``version`` must be refused, or None."""
    atom_id = _spec(review).get("atomId", "")
    decision = _spec(review).get("decision", "pending")
    if not is_open(review):
        who = decided_by_of(review)
        by = f" by {who}" if who else ""
        return (
            f"{atom_id} was already decided elsewhere ({decision}{by}); nothing was changed — "
            "your text is kept below"
        )
    if version != kube_version(review):
        return (
            f"{atom_id} changed since this page loaded it (another reviewer or kubectl); "
            "nothing was changed — look at the new version, your text is kept"
        )
    return None


def decision_patch(request: ReviewDecision, user: str, resource_version: str) -> dict[str, Any]:
    """The merge patch of a decision made by ``user`` on the AtomReview read at
    ``resource_version`` (the API server refuses it with 409 if it changed since)."""
    return {
        "metadata": {
            "resourceVersion": resource_version,
            "annotations": {ANNOTATION_DECIDED_BY: user},
        },
        "spec": {
            "decision": request.decision,
            "code": request.code if request.decision == "edit" else None,
            "feedback": request.feedback if request.decision == "regenerate" else None,
        },
    }


def kube_outcome(review: Mapping[str, Any], generation: int) -> dict[str, Any]:
    """The result of a decision at ``generation``: settled by the operator (accepted, or
    rejected with its message), or still with it (``pending``)."""
    status = _status(review)
    state = str(status.get("state") or "Pending")
    observed = int(status.get("observedGeneration", 0) or 0)
    settled = observed >= generation and state in SETTLED
    if not settled:
        return {
            "accepted": False,
            "pending": True,
            "message": "Submitted. The operator is acting on it; the outcome appears here "
            f"when it is done (now: {state}).",
            "state": state,
            "code": None,
            "failures": [],
        }
    message = str(status.get("message") or state)
    failures = (
        [] if state == "Accepted" else [{"level": "", "check": "operator", "detail": message}]
    )
    return {
        "accepted": state == "Accepted",
        "pending": False,
        "message": message,
        "state": state,
        "code": str(status.get("code") or "") or None,
        "failures": failures,
    }


def kube_marks(
    projects: Sequence[Mapping[str, Any]], reviews: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """A fingerprint per project key of its Project and AtomReviews (resourceVersions): it
    differs after any change to either, whoever made it."""
    parts: dict[str, list[str]] = {}
    for p in projects:
        key = f"{_meta(p).get('namespace', '')}/{_meta(p).get('name', '')}"
        parts.setdefault(key, []).append(f"p{_meta(p).get('resourceVersion', '')}")
    for r in reviews:
        parts.setdefault(project_of(r), []).append(
            f"{_meta(r).get('name', '')}@{_meta(r).get('resourceVersion', '')}"
        )
    return {
        k: hashlib.sha256("|".join(sorted(v)).encode()).hexdigest()[:16] for k, v in parts.items()
    }
