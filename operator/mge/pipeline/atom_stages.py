"""Phases 3–4 as checkpointed stages: skeletons per task → atoms (tree-sitter) → graph/levels."""

from __future__ import annotations

from dataclasses import dataclass

from mge.atomization import RecursiveDecomposer
from mge.errors import InputError
from mge.graph import CyclePolicy, DependencyAnalyzer, DependencyGraph
from mge.models.atoms import AtomicUnit
from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.pipeline.context import RunContext, input_hash
from mge.pipeline.planning_stages import checkpoint, save
from mge.pipeline.skeleton import check_ownership, skeleton_files, skeleton_request, task_order
from mge.planning import PatternRef, render_patterns

TASK_SKELETON_DOC = "skeleton/{task_id}"
"""Checkpoint of one task's skeleton files. All tasks' files together are a different
document, :data:`mge.execution.journal.SKELETON_DOC`, which the run saves after this stage."""
CYCLE_POLICY: CyclePolicy = "merge-untested"
"""Mutually recursive atoms without tests of their own are merged into one unit (see
docs/atomization.md); any other cycle is an error that names it."""


def conventions(discovery: DiscoveryResult) -> str:
    """Project-wide conventions for every prompt (stable, so prompt caching hits)."""
    stack = discovery.stack
    lines = [f"- language: {stack.language}"]
    if stack.framework:
        lines.append(f"- framework: {stack.framework}")
    lines += [f"- {c.name}: {c.reason}" for c in stack.choices]
    lines += [f"- assumption: {a}" for a in discovery.assumptions]
    return "\n".join(lines)


async def skeleton_stage(
    ctx: RunContext, discovery: DiscoveryResult, plan: Masterplan, patterns: list[PatternRef]
) -> dict[str, str]:
    """Every task's skeleton, in dependency order; returns all files (path → text)."""
    language = discovery.stack.language
    conv = conventions(discovery)
    rendered_patterns = render_patterns(patterns)
    by_task: dict[str, dict[str, str]] = {}
    ordered = task_order(plan)
    for n, task in enumerate(ordered, start=1):
        deps: dict[str, str] = {}
        for dep in task.depends_on:
            deps.update(by_task.get(dep, {}))
        request = skeleton_request(
            task,
            language=language,
            conventions=conv,
            dependency_files=deps,
            patterns=rendered_patterns,
        )
        kind = TASK_SKELETON_DOC.format(task_id=task.id)
        inputs = request.content_hash("skeleton")
        stored = await checkpoint(ctx, kind, inputs)
        if stored is not None:
            files = {str(k): str(v) for k, v in stored.items()}
        else:
            response = await ctx.planning_llm.complete(request, project=ctx.key)
            files = skeleton_files(response.text)
            check_ownership(task, files)
            await save(ctx, kind, inputs, files)
        by_task[task.id] = files
        ctx.reporter.progress(n, len(ordered), f"skeleton {task.id} ({len(files)} files)")
    return {path: text for files in by_task.values() for path, text in files.items()}


@dataclass(frozen=True)
class Analysis:
    """Atoms and their levelled dependency graph."""

    files: dict[str, str]
    atoms: list[AtomicUnit]
    graph: DependencyGraph


def _task_of(path: str, plan: Masterplan) -> str | None:
    return next((t.id for t in plan.tasks() if path in t.files), None)


async def atomize_stage(ctx: RunContext, plan: Masterplan, files: dict[str, str]) -> Analysis:
    """Skeleton files → atoms (≤10 LOC, complexity ≤3) → graph with levels; stored."""
    result = RecursiveDecomposer().atomize_skeleton(files, None)
    if result.errors:
        problems = "; ".join(str(e) for e in result.errors)
        raise InputError(f"the skeleton does not parse: {problems}")
    atoms = [a.model_copy(update={"task_id": _task_of(a.file, plan)}) for a in result.atoms]
    graph = DependencyAnalyzer(CYCLE_POLICY).analyze(atoms, result.edges)
    if len(atoms) > ctx.spec.budget.max_atoms:
        ctx.reporter.note(
            f"{len(atoms)} atoms exceed spec.budget.maxAtoms={ctx.spec.budget.max_atoms}; "
            "only the first levels within the budget will be generated"
        )
    saved = await ctx.store.save_atoms(ctx.key, atoms, graph.level_of)
    await ctx.store.save_edges(ctx.key, graph.edges)
    await save(
        ctx,
        "graph",
        input_hash(files),
        {
            "levels": graph.levels,
            "criticalPath": graph.critical_path,
            "merged": graph.merged,
        },
    )
    ctx.reporter.note(
        f"{len(atoms)} atoms ({len(saved.inserted)} new, {len(saved.changed)} changed, "
        f"{len(saved.unchanged)} unchanged) in {len(graph.levels)} levels; "
        f"critical path {len(graph.critical_path)} atoms"
    )
    return Analysis(files=files, atoms=atoms, graph=graph)
