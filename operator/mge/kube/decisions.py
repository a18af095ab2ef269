"""Carry out a reviewer's AtomReview decision with the pipeline's review functions.

The rules are :func:`mge.review.decisions.apply_decision` — the same as ``mge review``:
approve accepts the code; edit validates the reviewer's code before accepting it; regenerate
runs a new attempt with the feedback. Only the collaborators differ: validation runs as a
sandbox Job (:class:`~mge.kube.jobs.KubeBatchValidator`, deterministic name, so a re-run after
a kill reads the same Job) and the new attempt's LLM call goes through the store's response
cache (a repeated decision costs no second call).
"""

from __future__ import annotations

from mge.errors import InputError
from mge.execution.budget import Budget
from mge.execution.executor import AtomExecutorWithRetry
from mge.execution.journal import StoreJournal, accepted_codes, load_codebase, load_state
from mge.kube.stages import StageRunner
from mge.models.review import AtomReviewSpec, Decision
from mge.review.decisions import DecisionResult, ReviewDeps, apply_decision
from mge.store import Store
from mge.validation.batch import Workspace


async def carry_out(
    store: Store,
    stages: StageRunner,
    key: str,
    spec: AtomReviewSpec,
    *,
    by: str,
) -> DecisionResult:
    """Apply ``spec.decision`` to the atom's review item and persist the outcome.

    Raises InputError when the store has no such item or the decision lacks what it needs.
    """
    atom = spec.atom_id
    decision: Decision = spec.decision
    item = await store.get_review_item(key, atom)
    if item is None:
        raise InputError(f"project {key} has no review item for atom {atom!r}")
    stored_atom = await store.get_atom(key, atom)
    project = await store.get_project(key)
    if stored_atom is None or project is None:
        raise InputError(f"project {key} has no atom {atom!r} in the store")
    journal = StoreJournal(store, key)
    history = await store.list_attempts(key, atom)
    deps = ReviewDeps(journal=journal)
    llm = None
    try:
        if decision in ("edit", "regenerate"):
            codebase = await load_codebase(store, key)
            workspace = Workspace(codebase, await accepted_codes(store, key))
            workspace.validated.pop(atom, None)
            body = await stages.project_body(key)
            jobs = stages.job_runner(body, project.spec, project.generation)
            validator = stages.validator_factory(jobs)(workspace)
            executor = None
            if decision == "regenerate":
                ctx = await stages.context(key)
                llm = ctx.llm
                state = await load_state(store, key, codebase.atoms)
                budget = Budget.from_spec(
                    project.spec.budget,
                    await store.total_cost(key),
                    [a for a, p in state.atoms.items() if p.attempts],
                )
                executor = AtomExecutorWithRetry(
                    llm=llm,
                    validator=validator,
                    workspace=workspace,
                    state=state,
                    journal=journal,
                    budget=budget,
                    spec=project.spec.execution,
                    base_temperature=project.spec.llm.temperature,
                    project=key,
                )
            deps = ReviewDeps(journal, workspace, validator, executor)
        result = await apply_decision(
            item,
            decision,
            history,
            deps,
            code=spec.code,
            feedback=spec.feedback,
            level=stored_atom.level or 0,
            by=by,
        )
    finally:
        if llm is not None:
            await llm.aclose()
    if result.accepted:
        await store.decide_review(
            key, atom, decision, code=spec.code, feedback=spec.feedback, by=by
        )
    else:
        await store.upsert_review_item(key, result.item)
    return result
