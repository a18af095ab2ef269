"""Carry out a reviewer's decision on one atom: the one function `mge review`, the operator's
AtomReview patches and (next) the web review interface call.

The rules are :func:`mge.review.decisions.apply_decision`: approve accepts the code; edit
validates the reviewer's code before accepting it; regenerate runs a new attempt with the
feedback. This module does the wiring around them that every front end needs — read the item,
the atom and the project from the store, rebuild the workspace from the accepted code, build the
executor with the project's budget, close the LLM client, persist the outcome. What differs per
front end is passed in as :class:`DecisionTools`: where generated code is validated (the process
sandbox locally, a sandbox Job in the cluster) and how the project's LLM client is opened
(recordings beside the manifest or ``--recordings``; the API key from a Secret in the cluster).
Its LLM calls go through the store's response cache, so a repeated decision costs no second call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mge.errors import InputError
from mge.execution.budget import Budget
from mge.execution.executor import AtomExecutorWithRetry
from mge.execution.journal import StoreJournal, accepted_codes, load_codebase, load_state
from mge.llm import LLMClient
from mge.models.review import ReviewDecision
from mge.review.decisions import DecisionResult, ReviewDeps, apply_decision
from mge.store import Store
from mge.store.records import StoredProject
from mge.validation.batch import BatchValidator, Workspace

__all__ = ["DecisionTools", "carry_out_decision"]


@dataclass(frozen=True)
class DecisionTools:
    """What a front end supplies to carry out edit and regenerate (approve needs neither)."""

    make_validator: Callable[[Workspace, StoredProject], Awaitable[BatchValidator]]
    """The batch validator over the rebuilt workspace, for this project."""
    open_llm: Callable[[StoredProject], Awaitable[LLMClient]]
    """The project's LLM client for a regeneration; closed here when the decision is done."""


async def carry_out_decision(
    store: Store, key: str, request: ReviewDecision, tools: DecisionTools
) -> DecisionResult:
    """Apply ``request`` to the review item of its atom in project ``key`` and persist it.

    An accepted decision is recorded as decided; one that did not pass validation keeps the
    item open with the new code and failure. Raises InputError when the store has no such
    item, atom or project, or the decision lacks what it needs (code, feedback).
    """
    atom, decision = request.atom, request.decision
    item = await store.get_review_item(key, atom)
    if item is None:
        raise InputError(f"project {key!r} has no review item for atom {atom!r}")
    stored_atom = await store.get_atom(key, atom)
    project = await store.get_project(key)
    if stored_atom is None or project is None:
        raise InputError(f"project {key!r} has no atom {atom!r} in the store")
    journal = StoreJournal(store, key)
    history = await store.list_attempts(key, atom)
    deps = ReviewDeps(journal=journal)
    llm: LLMClient | None = None
    try:
        if decision in ("edit", "regenerate"):
            codebase = await load_codebase(store, key)
            workspace = Workspace(codebase, await accepted_codes(store, key))
            workspace.validated.pop(atom, None)
            validator = await tools.make_validator(workspace, project)
            executor = None
            if decision == "regenerate":
                llm = await tools.open_llm(project)
                executor = await _executor(store, project, workspace, validator, journal, llm)
            deps = ReviewDeps(journal, workspace, validator, executor)
        result = await apply_decision(
            item,
            decision,
            history,
            deps,
            code=request.code,
            feedback=request.feedback,
            level=stored_atom.level or 0,
            by=request.by,
        )
    finally:
        if llm is not None:
            await llm.aclose()
    if result.accepted:
        await store.decide_review(
            key, atom, decision, code=request.code, feedback=request.feedback, by=request.by
        )
    else:
        await store.upsert_review_item(key, result.item)
    return result


async def _executor(
    store: Store,
    project: StoredProject,
    workspace: Workspace,
    validator: BatchValidator,
    journal: StoreJournal,
    llm: LLMClient,
) -> AtomExecutorWithRetry:
    """The executor of a regeneration: this project's state, budget and execution settings."""
    spec, key = project.spec, project.key
    state = await load_state(store, key, workspace.codebase.atoms)
    budget = Budget.from_spec(
        spec.budget,
        await store.total_cost(key),
        [a for a, p in state.atoms.items() if p.attempts],
    )
    return AtomExecutorWithRetry(
        llm=llm,
        validator=validator,
        workspace=workspace,
        state=state,
        journal=journal,
        budget=budget,
        spec=spec.execution,
        base_temperature=spec.llm.temperature,
        project=key,
    )
