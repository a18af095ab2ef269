"""The cluster driver: one phase per call of the operator's PhaseRunner, read back from the store.

The operator advances a Project one phase per call and may be killed between any two, so each
call walks one row of :data:`~mge.pipeline.phase_table.PIPELINE` with fresh
:class:`~mge.pipeline.phase_table.Products`: what earlier phases made is read back from the
store's checkpoints (discovery, plan, skeletons and atoms are stored with their input hashes;
atom states and codes live in the store), then the row's stage step runs — the same rows
`mge run` walks in one go (local.py).

What runs generated code — the batch validator of the execution stage and the TestRunner of
module/integration/system validation — is passed in as a
:data:`~mge.pipeline.phase_table.SandboxFactory`: sandbox Jobs in the cluster. No Kubernetes
import here.
"""

from __future__ import annotations

from mge.errors import BudgetExceeded
from mge.execution.budget import BudgetLimit
from mge.models.project import Phase
from mge.pipeline.context import RunContext
from mge.pipeline.phase_table import STEPS, Products, SandboxFactory, run_step, without_work
from mge.pipeline.phases import next_phase

BUDGET_ATOMS = BudgetLimit.ATOMS
BUDGET_COST = BudgetLimit.COST


def budget_error(limit: BudgetLimit | None, ctx: RunContext, spent: float) -> BudgetExceeded:
    """The BudgetExceeded an execution stopped with: the limit the result names (cost when it
    names none) and that limit's value in the spec, which the reconcile compares a new spec to."""
    if limit == BudgetLimit.ATOMS:
        return BudgetExceeded(BudgetLimit.ATOMS, float(ctx.spec.budget.max_atoms), spent)
    return BudgetExceeded(BudgetLimit.COST, ctx.spec.budget.max_cost_usd, spent)


async def run_cluster_phase(ctx: RunContext, phase: Phase, sandbox: SandboxFactory | None) -> Phase:
    """Run the work of ``phase`` for one Project; returns the phase reached.

    Idempotent: a phase re-run after a kill reads its finished stages back from the store, the
    LLM response cache answers repeated calls, and sandbox Jobs have deterministic names.
    Raises BudgetExceeded when execution stops on the budget (the phase stays Executing), and
    InputError when a phase that runs generated code gets no ``sandbox``.
    """
    reached = without_work(phase)
    if reached is not None:
        return reached  # Pending advances; Reviewing onwards: the reconcile decides
    outcome = await run_step(Products(ctx, sandbox_factory=sandbox), STEPS[phase])
    if outcome.stalled:
        raise budget_error(outcome.budget_limit, ctx, await ctx.store.total_cost(ctx.key))
    return next_phase(phase)
