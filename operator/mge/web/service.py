"""The review interface's operations on the local store: read views, carry out decisions.

Decisions go through :func:`mge.pipeline.review_decision.carry_out_decision`, the one function
`mge review` and the operator use; this module only adds the web's stale-page check (the page
says which version of the item it saw) and serialises decisions on one atom in this server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mge.errors import InputError
from mge.models.review import WEIGHTS, Decision, ReviewDecision
from mge.pipeline.review_decision import DecisionTools, carry_out_decision
from mge.review.decisions import DecisionResult
from mge.store import Store
from mge.web.backend import NotFound, StaleItem
from mge.web.views import QueueFilter, atom_view, item_version, project_view, queue_view

__all__ = ["DECISIONS", "NotFound", "ReviewService", "StaleItem"]

DECISIONS: tuple[Decision, ...] = ("approve", "edit", "regenerate")
MAX_CODE_CHARS = 65_536
"""Longest code an edit may submit (the AtomReview CRD's limit)."""
MAX_FEEDBACK_CHARS = 8192
"""Longest regeneration feedback (the AtomReview CRD's limit)."""


@dataclass
class ReviewService:
    """Reads and decisions against one store, as one reviewer (``by``)."""

    store: Store
    tools: DecisionTools | None
    """None: reads only (the cluster server reads attempt history; the operator decides)."""
    by: str | None
    _locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    @property
    def user(self) -> str | None:
        """Who the decisions are recorded as (``--by``)."""
        return self.by

    async def marks(self) -> dict[str, str]:
        """The store's per-project change marks (written by any process)."""
        return await self.store.review_marks()

    async def close(self) -> None:
        """Nothing per person: the store is closed by whoever opened it."""

    async def projects(self) -> list[dict[str, Any]]:
        """Every project in the store with its phase, progress, review counts and cost."""
        out = []
        for p in await self.store.list_projects():
            items = await self.store.list_review_items(p.key)
            counts = await self.store.count_atoms(p.key)
            out.append(project_view(p, counts, items, await self.store.total_cost(p.key)))
        return out

    async def queue(self, key: str, which: QueueFilter) -> dict[str, Any]:
        """A project's review queue, least confident first."""
        project = await self.store.get_project(key)
        if project is None:
            raise NotFound(f"no project {key!r} in the store")
        items = await self.store.list_review_items(key)
        counts = await self.store.count_atoms(key)
        return {
            "project": project_view(project, counts, items, await self.store.total_cost(key)),
            "filter": which,
            "weights": WEIGHTS,
            "items": queue_view(items, which),
        }

    async def atom(self, key: str, atom_id: str) -> dict[str, Any]:
        """The atom page of one review item."""
        item = await self.store.get_review_item(key, atom_id)
        atom = await self.store.get_atom(key, atom_id)
        if item is None or atom is None:
            raise NotFound(f"project {key!r} has no review item for atom {atom_id!r}")
        deps = [d for d in [await self.store.get_atom(key, a) for a in atom.unit.dependencies] if d]
        attempts = await self.store.list_attempts(key, atom_id)
        validations = await self.store.list_validations(key, subject=atom_id)
        return atom_view(key, item, atom, deps, attempts, validations)

    async def decide(self, key: str, atom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Carry out a decision posted by a page that saw item version ``body['version']``."""
        request, version = parse_decision(atom_id, body, self.by)
        lock = self._locks.setdefault((key, atom_id), asyncio.Lock())
        async with lock:
            item = await self.store.get_review_item(key, atom_id)
            if item is None:
                raise NotFound(f"project {key!r} has no review item for atom {atom_id!r}")
            if item.decision != "pending":
                who = f" by {item.decided_by}" if item.decided_by else ""
                raise StaleItem(
                    f"{atom_id} was already decided elsewhere ({item.decision}{who}); "
                    "nothing was changed — your text is kept below",
                    await self.atom(key, atom_id),
                )
            if version != item_version(item):
                raise StaleItem(
                    f"{atom_id} changed since this page loaded it (another reviewer or the "
                    "CLI); nothing was changed — look at the new version, your text is kept",
                    await self.atom(key, atom_id),
                )
            if self.tools is None:
                raise InputError("this server reads the store only; decisions go elsewhere")
            result = await carry_out_decision(self.store, key, request, self.tools)
        return {"result": result_view(result), "atom": await self.atom(key, atom_id)}


def parse_decision(
    atom_id: str, body: dict[str, Any], by: str | None
) -> tuple[ReviewDecision, str]:
    """The decision a page posted, checked field by field (pure)."""
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise InputError(f"field 'decision' must be one of {', '.join(DECISIONS)}")
    version = body.get("version")
    if not isinstance(version, str) or not version:
        raise InputError("field 'version' (the item version the page shows) is required")
    code, feedback = body.get("code"), body.get("feedback")
    if decision == "edit" and (not isinstance(code, str) or not code.strip()):
        raise InputError("field 'code' is required for an edit: the code to validate")
    if decision == "regenerate" and (not isinstance(feedback, str) or not feedback.strip()):
        raise InputError("field 'feedback' is required for a regeneration: what should change")
    if isinstance(code, str) and len(code) > MAX_CODE_CHARS:
        raise InputError(f"field 'code' is longer than {MAX_CODE_CHARS} characters")
    if isinstance(feedback, str) and len(feedback) > MAX_FEEDBACK_CHARS:
        raise InputError(f"field 'feedback' is longer than {MAX_FEEDBACK_CHARS} characters")
    request = ReviewDecision(
        atom_id,
        decision,
        code=code if decision == "edit" else None,
        feedback=feedback if decision == "regenerate" else None,
        by=by,
    )
    return request, version


def result_view(result: DecisionResult) -> dict[str, Any]:
    """The outcome: accepted, or rejected with the failing checks (and the new code)."""
    failures: list[dict[str, str]] = []
    validation = result.attempt.validation if result.attempt is not None else None
    if validation is not None:
        failures = [
            {"level": validation.level, "check": c.name, "detail": c.detail}
            for c in validation.checks
            if not c.passed
        ]
    if result.attempt is not None and validation is None and result.attempt.error:
        failures.append({"level": "", "check": "generation", "detail": result.attempt.error})
    return {
        "accepted": result.accepted,
        "message": result.message,
        "state": str(result.state),
        "code": result.code,
        "failures": failures,
    }
