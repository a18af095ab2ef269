"""Carry out a reviewer's AtomReview decision with the pipeline's one decision function.

:func:`mge.pipeline.review_decision.carry_out_decision` does the work, as for ``mge review``;
the operator supplies only its collaborators: validation runs as a sandbox Job
(:class:`~mge.kube.jobs.KubeBatchValidator`, deterministic name, so a re-run after a kill reads
the same Job) and a regeneration's LLM client is the Project's (its key from the Secret named in
``spec.llm.secretRef``), whose calls go through the store's response cache.
"""

from __future__ import annotations

from mge.kube.stages import StageRunner
from mge.llm import LLMClient
from mge.models.review import AtomReviewSpec, ReviewDecision
from mge.pipeline.review_decision import DecisionTools, carry_out_decision
from mge.review.decisions import DecisionResult
from mge.store import Store
from mge.store.records import StoredProject
from mge.validation.batch import BatchValidator, Workspace


def decision_tools(stages: StageRunner) -> DecisionTools:
    """Sandbox Jobs for validation and the Project's LLM client, from the PhaseRunner."""

    async def make_validator(workspace: Workspace, project: StoredProject) -> BatchValidator:
        body = await stages.project_body(project.key)
        jobs = stages.job_runner(body, project.spec, project.generation)
        return stages.validator_factory(jobs)(workspace)

    async def open_llm(project: StoredProject) -> LLMClient:
        return await stages.llm(project.key, project.spec)

    return DecisionTools(make_validator, open_llm)


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
    request = ReviewDecision(spec.atom_id, spec.decision, spec.code, spec.feedback, by)
    return await carry_out_decision(store, key, request, decision_tools(stages))
