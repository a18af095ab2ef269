"""Phases 5–7 and the output: execute level by level, system validation, review queue, write.

The output is written to a folder by `mge run` (:func:`output_stage`) and kept in the store for
the operator (:func:`store_output`, :func:`output_tree` for the git push).

The batch validator is passed in by the driver: locally it runs the process sandbox; in the
cluster it creates one Job per batch per level. Everything else is the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mge.discovery.performance import performance_criteria
from mge.execution import (
    Budget,
    ExecutionResult,
    ProgressiveIntegrationTester,
    StoreJournal,
    execute_levels,
    load_state,
)
from mge.execution.executor import ProgressCallback
from mge.execution.generator import PERFORMANCE_PROGRESS, READINESS_PROGRESS
from mge.execution.journal import accepted_codes, load_codebase
from mge.execution.output import Written, output_files, render_tree, write_output
from mge.execution.performance import PerformanceGate
from mge.execution.readiness import ReadinessGate
from mge.execution.report import RunReport, compute_report, latest_checks
from mge.models.atoms import AtomState
from mge.models.domain import DiscoveryResult
from mge.models.execution import CheckResult, ValidationResult
from mge.models.performance import PerformanceReport
from mge.models.plan import Masterplan
from mge.models.project import ProjectSpec
from mge.models.readiness import ReadinessReport
from mge.models.review import ConfidenceParts, ReviewItem
from mge.pipeline.atom_stages import Analysis
from mge.pipeline.context import RunContext
from mge.pipeline.memory_stages import recording_examples, retrieval_use, save_examples_used
from mge.pipeline.planning_stages import conventions
from mge.review.confidence import ConfidenceScorer
from mge.review.queue import ReviewQueue, save_review, select
from mge.store import Store
from mge.validation.batch import BatchValidator, Workspace
from mge.validation.codebase import Codebase
from mge.validation.hierarchy import HierarchicalValidator
from mge.validation.sandboxed import SandboxTestRunner

OUTPUT_DOC = "output"
"""The generated codebase kept in the store (``status.output.storeKey`` names the project)."""


@dataclass
class Execution:
    """What execution produced, for the later stages."""

    workspace: Workspace
    result: ExecutionResult
    system: ValidationResult | None = None
    review: list[ReviewItem] = field(default_factory=list)
    scores: dict[str, ConfidenceParts] = field(default_factory=dict)


async def execution_stage(
    ctx: RunContext,
    discovery: DiscoveryResult,
    analysis: Analysis,
    *,
    runner: SandboxTestRunner,
    make_validator: Callable[[Workspace], BatchValidator],
    progress: ProgressCallback | None = None,
) -> Execution:
    """Generate and validate every atom, level by level, resuming from the store.

    ``make_validator`` builds the batch validator over this run's workspace (the process
    sandbox locally, sandbox Jobs in the cluster; both need the workspace the executor fills).
    """
    codebase = Codebase(analysis.files, {a.id: a for a in analysis.atoms})
    workspace = Workspace(codebase)
    state = await load_state(ctx.store, ctx.key, codebase.atoms)
    workspace.validated.update(state.validated_codes())
    journal = StoreJournal(ctx.store, ctx.key)
    validator = make_validator(workspace)
    used: dict[str, list[str]] = {}
    examples = None
    if ctx.memory is not None and ctx.memory.examples is not None:
        examples = recording_examples(ctx.memory.examples, used)
    # Spend includes discovery, planning and skeletons (the ledger), not only attempts.
    started_atoms = [a for a, p in state.atoms.items() if p.attempts]
    budget = Budget.from_spec(ctx.spec.budget, await ctx.store.total_cost(ctx.key), started_atoms)
    criteria, unmeasured = performance_criteria(discovery)
    result = await execute_levels(
        analysis.graph.levels,
        workspace=workspace,
        llm=ctx.llm,
        validator=validator,
        spec=ctx.spec,
        state=state,
        journal=journal,
        budget=budget,
        project=ctx.key,
        conventions=conventions(discovery),
        integration=ProgressiveIntegrationTester(workspace, runner, state=state, journal=journal),
        hierarchy=HierarchicalValidator(codebase, runner),
        readiness=ReadinessGate(
            codebase,
            runner.run_batch,
            ctx.spec.validation.readiness,
            language=discovery.stack.language,
            project=ctx.key,
        ),
        performance=PerformanceGate(
            codebase,
            runner.run_batch,
            ctx.spec.validation.performance,
            criteria,
            language=discovery.stack.language,
            unmeasured=unmeasured,
        ),
        progress=progress,
        examples=examples,
    )
    await save_examples_used(ctx.store, ctx.key, used)
    return Execution(workspace=workspace, result=result)


async def integration_stage(
    ctx: RunContext,
    discovery: DiscoveryResult,
    plan: Masterplan,
    ex: Execution,
    runner: SandboxTestRunner,
) -> ValidationResult:
    """L4: the whole generated test suite and each acceptance criterion."""
    hierarchy = HierarchicalValidator(ex.workspace.codebase, runner)
    system = await hierarchy.system(
        ex.workspace.validated,
        discovery.acceptance,
        plan.tasks(),
        measured=benchmark_checks(ex.result.performance),
    )
    await ctx.store.add_validation(ctx.key, system)
    ex.system = system
    return system


def benchmark_checks(report: PerformanceReport | None) -> dict[str, CheckResult]:
    """Criterion id → its benchmark's verdict as an acceptance check (pure): a benchmark is
    how a performance criterion is checked; in report mode a miss does not fail it."""
    if report is None:
        return {}
    return {
        r.criterion.id: CheckResult(
            name=r.criterion.id,
            passed=r.passed or report.mode != "block",
            detail=("benchmark " + (r.error or r.figures()))[:4000],
        )
        for r in report.results
    }


async def review_stage(ctx: RunContext, ex: Execution) -> list[ReviewItem]:
    """Score every atom; queue the least certain fraction plus every failed atom."""
    state = await load_state(ctx.store, ctx.key, ex.workspace.codebase.atoms)
    queued = await ctx.store.list_review_items(ctx.key)
    existing = {i.atom_id for i in queued}
    queue = ReviewQueue(
        ex.workspace.codebase,
        llm=ctx.llm,
        project=ctx.key,
        scorer=ConfidenceScorer(max_attempts=ctx.spec.execution.max_attempts),
        fraction=ctx.spec.review.fraction,
    )
    scores = queue.scores(state)
    failed = [a for a, p in state.atoms.items() if p.state == AtomState.FAILED]
    # The selection is recomputed purely; only picks without an item yet cost an LLM call
    # (a suggestion), so a re-run of an unchanged project queues nothing new. An atom already
    # queued keeps the score it was queued with: a decision (approved atoms are no longer
    # scored, an edit adds an attempt) must not push the quota on to the next atoms.
    ranking = {a: p.score for a, p in scores.items()}
    ranking.update({i.atom_id: i.confidence.score for i in queued if i.atom_id in state.atoms})
    picks = select(ranking, failed, ctx.spec.review.fraction)
    items = [
        await queue.item(state.atoms[a], scores[a], reason)
        for a, reason in picks
        if a not in existing
    ]
    await save_review(ctx.store, ctx.key, items, scores)
    ex.review = await ctx.store.list_review_items(ctx.key)
    ex.scores = scores
    return ex.review


async def output_stage(
    ctx: RunContext,
    discovery: DiscoveryResult,
    analysis: Analysis,
    ex: Execution,
    folder: Path,
    *,
    provider: str,
    model: str,
    recorded: bool,
    wall_s: float,
) -> tuple[RunReport, Written]:
    """Write the codebase, its README and report.json; commit to a branch if asked."""
    state = await load_state(ctx.store, ctx.key, ex.workspace.codebase.atoms)
    # Tokens and USD: one ledger reading over every run of the project, so a re-run (after
    # review, or resumed) reports what the codebase cost. Calls: what this run asked.
    ledger = await ctx.store.usage_totals(ctx.key)
    totals = ctx.llm.totals
    calls, hits = totals.calls, totals.cache_hits
    planner = ctx.spec.llm.planner
    if ctx.planner is not None and planner is not None:
        calls += ctx.planner.totals.calls
        hits += ctx.planner.totals.cache_hits
    planned_by = ""
    if planner is not None:
        planned_by = f"{planner.provider}/" + (
            "recording" if planner.provider == "scripted" else planner.model
        )
    report = compute_report(
        ctx.key,
        ex.workspace.codebase.atoms,
        state,
        result=ex.result,
        levels=analysis.graph.levels,
        review=ex.review,
        scores=ex.scores,
        validations=latest_checks(await ctx.store.list_validations(ctx.key)),
        provider=provider,
        model=model,
        recorded=recorded,
        planner=planned_by,
        usage=ledger.usage,
        llm_calls=calls,
        cache_hits=hits,
        cost_usd=ledger.cost_usd,
        wall_s=wall_s,
        retrieval=await retrieval_use(ctx.store, ctx.key),
    )
    codes = dict(ex.workspace.validated)
    missing = sorted(set(ex.workspace.codebase.atoms) - set(codes))
    git = ctx.spec.output.git
    written = await write_output(
        folder,
        output_files(ex.workspace.codebase, codes),
        report,
        language=discovery.stack.language,
        missing=missing,
        git_branch=git.branch if git else None,
    )
    return report, written


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
        readiness=await stored_readiness(ctx.store, ctx.key),
        performance=await stored_performance(ctx.store, ctx.key),
    )
    return Execution(workspace=workspace, result=result)


async def stored_readiness(store: Store, key: str) -> ReadinessReport | None:
    """The last readiness report execution kept in the store (None before one ran)."""
    doc = await StoreJournal(store, key).progress(READINESS_PROGRESS)
    return ReadinessReport.model_validate(doc) if doc else None


async def stored_performance(store: Store, key: str) -> PerformanceReport | None:
    """The last performance report execution kept in the store (None before one ran)."""
    doc = await StoreJournal(store, key).progress(PERFORMANCE_PROGRESS)
    return PerformanceReport.model_validate(doc) if doc else None


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
    readiness = await stored_readiness(store, key)
    ledger = await store.usage_totals(key)
    report = compute_report(
        key,
        codebase.atoms,
        state,
        review=await store.list_review_items(key),
        validations=latest_checks(await store.list_validations(key)),
        usage=ledger.usage,
        provider=spec.llm.provider,
        model="recording" if scripted else spec.llm.model,
        recorded=scripted,
        cost_usd=ledger.cost_usd,
        wall_s=0.0,
        readiness=readiness,
        retrieval=await retrieval_use(store, key),
        performance=await stored_performance(store, key),
    )
    return render_tree(
        output_files(codebase, codes),
        report,
        language=spec.hints.language,
        missing=sorted(set(codebase.atoms) - set(codes)),
    )
