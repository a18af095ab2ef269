"""The cluster driver's phase steps: one phase per call, everything read back from the store.

`mge run` (local.py) runs every phase in one process and passes results from one stage to the
next in memory. The operator advances a Project one phase per call of its PhaseRunner and may be
killed between any two, so each step here rebuilds what it needs from the store's checkpoints
(discovery, plan, skeletons and atoms are stored with their input hashes; atom states and codes
live in the store) and then runs the same stage functions as local.py, in the same order:

    Pending → Discovering → Planning → Atomizing (skeletons) → Analyzing (atoms, graph)
    → Executing (level by level) → Integrating (L4, review queue, output) → Reviewing

The collaborators that run generated code — the batch validator of the execution stage and the
TestRunner of module/integration/system validation — are passed in: sandbox Jobs in the cluster.
No Kubernetes import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mge.errors import BudgetExceeded, InputError
from mge.execution import ExecutionResult, load_state
from mge.execution.journal import accepted_codes, load_codebase
from mge.execution.output import output_files, render_tree
from mge.execution.report import compute_report
from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.models.project import ProjectSpec
from mge.pipeline.atom_stages import Analysis, atomize_stage
from mge.pipeline.context import RunContext
from mge.pipeline.exec_stages import (
    Execution,
    execution_stage,
    integration_stage,
    review_stage,
)
from mge.pipeline.phases import Phase, next_phase
from mge.pipeline.planning_stages import (
    discovery_stage,
    planning_stage,
    retrieval_stage,
    save,
    skeleton_stage,
)
from mge.planning import PatternRef
from mge.store import Store
from mge.validation.batch import BatchValidator, Workspace
from mge.validation.codebase import Codebase
from mge.validation.sandboxed import SandboxTestRunner

SKELETON_DOC = "skeleton"
"""All skeleton files in one document, read back by load_codebase (as local.py stores it)."""
OUTPUT_DOC = "output"
"""The generated codebase kept in the store (``status.output.storeKey`` names the project)."""
BUDGET_ATOMS = "atoms"
BUDGET_COST = "cost"


@dataclass(frozen=True)
class ClusterTools:
    """What runs generated code in the cluster (passed in by the operator)."""

    tests: SandboxTestRunner
    """Module, integration and system runs (L2–L4)."""
    make_validator: Callable[[Workspace], BatchValidator]
    """The L1 batch validator over the execution stage's workspace."""


async def _planned(ctx: RunContext) -> tuple[DiscoveryResult, list[PatternRef], Masterplan]:
    discovery = await discovery_stage(ctx)
    refs = await retrieval_stage(ctx, discovery)
    plan = await planning_stage(ctx, discovery, refs)
    return discovery, refs, plan


async def _analysed(ctx: RunContext) -> tuple[DiscoveryResult, Masterplan, Analysis]:
    discovery, refs, plan = await _planned(ctx)
    files = await skeleton_stage(ctx, discovery, plan, refs)
    return discovery, plan, await atomize_stage(ctx, plan, files)


def budget_error(message: str, ctx: RunContext, spent: float) -> BudgetExceeded:
    """The BudgetExceeded an execution stopped with (which limit, from its message)."""
    if "maxAtoms" in message:
        return BudgetExceeded(BUDGET_ATOMS, float(ctx.spec.budget.max_atoms), spent)
    return BudgetExceeded(BUDGET_COST, ctx.spec.budget.max_cost_usd, spent)


async def stored_execution(ctx: RunContext, analysis: Analysis) -> Execution:
    """The finished execution as the store has it (for the phases after Executing)."""
    codebase = Codebase(analysis.files, {a.id: a for a in analysis.atoms})
    state = await load_state(ctx.store, ctx.key, codebase.atoms)
    workspace = Workspace(codebase)
    workspace.validated.update(state.validated_codes())
    result = ExecutionResult(
        status="completed",
        state=state,
        levels=len(analysis.graph.levels),
        levels_done=len(analysis.graph.levels),
    )
    return Execution(workspace=workspace, result=result)


async def store_output(store: Store, key: str) -> dict[str, Any]:
    """Keep the codebase (accepted code spliced into the skeletons) in the store; returns it.

    Run when the review queue is made and again when every review is decided, so edits and
    regenerations are in the output.
    """
    codebase = await load_codebase(store, key)
    codes = await accepted_codes(store, key)
    document = {
        "files": output_files(codebase, codes),
        "missing": sorted(set(codebase.atoms) - set(codes)),
    }
    await store.put_document(key, OUTPUT_DOC, document)
    return document


async def output_tree(store: Store, key: str, spec: ProjectSpec) -> dict[str, str]:
    """Path → text of what `mge run` writes into its output folder for this project — the
    codebase with the accepted code, README.md and report.json — from the store. Deterministic
    (no clock in it): the operator pushes it to ``spec.output.git``."""
    codebase = await load_codebase(store, key)
    codes = await accepted_codes(store, key)
    state = await load_state(store, key, codebase.atoms)
    scripted = spec.llm.provider == "scripted"
    report = compute_report(
        key,
        codebase.atoms,
        state,
        review=await store.list_review_items(key),
        provider=spec.llm.provider,
        model="recording" if scripted else spec.llm.model,
        recorded=scripted,
        cost_usd=await store.total_cost(key),
        wall_s=0.0,
    )
    return render_tree(
        output_files(codebase, codes),
        report,
        language=spec.hints.language,
        missing=sorted(set(codebase.atoms) - set(codes)),
    )


def _need(tools: ClusterTools | None, phase: Phase) -> ClusterTools:
    if tools is None:
        raise InputError(f"phase {phase.value} runs generated code: it needs the sandbox tools")
    return tools


async def run_cluster_phase(ctx: RunContext, phase: Phase, tools: ClusterTools | None) -> Phase:
    """Run the work of ``phase`` for one Project; returns the phase reached.

    Idempotent: a phase re-run after a kill reads its finished stages back from the store, the
    LLM response cache answers repeated calls, and sandbox Jobs have deterministic names.
    Raises BudgetExceeded when execution stops on the budget (the phase stays Executing).
    """
    if phase == Phase.PENDING:
        return Phase.DISCOVERING
    if phase == Phase.DISCOVERING:
        await discovery_stage(ctx)
    elif phase == Phase.PLANNING:
        await _planned(ctx)
    elif phase == Phase.ATOMIZING:
        discovery, refs, plan = await _planned(ctx)
        files = await skeleton_stage(ctx, discovery, plan, refs)
        await save(ctx, SKELETON_DOC, "", files)  # read back by load_codebase
    elif phase == Phase.ANALYZING:
        _, _, analysis = await _analysed(ctx)
        levels = len(analysis.graph.levels)
        await ctx.store.set_phase(ctx.key, phase.value, {"level": 0, "levels": levels})
    elif phase == Phase.EXECUTING:
        sandbox = _need(tools, phase)
        discovery, _, analysis = await _analysed(ctx)
        ex = await execution_stage(
            ctx, discovery, analysis, runner=sandbox.tests, make_validator=sandbox.make_validator
        )
        levels = len(analysis.graph.levels)
        summary = {"level": ex.result.levels_done, "levels": levels}
        if ex.result.status != "completed":
            message = ex.result.message or ex.result.status
            await ctx.store.set_phase(ctx.key, phase.value, {**summary, "stalled": message})
            raise budget_error(message, ctx, await ctx.store.total_cost(ctx.key))
        await ctx.store.set_phase(ctx.key, phase.value, summary)
    elif phase == Phase.INTEGRATING:
        sandbox = _need(tools, phase)
        discovery, plan, analysis = await _analysed(ctx)
        ex = await stored_execution(ctx, analysis)
        await integration_stage(ctx, discovery, plan, ex, sandbox.tests)
        items = await review_stage(ctx, ex)
        await store_output(ctx.store, ctx.key)
        ctx.reporter.note(f"{len(items)} atoms queued for review")
    else:
        return phase  # Reviewing onwards: the reconcile decides (AtomReviews)
    return next_phase(phase)
