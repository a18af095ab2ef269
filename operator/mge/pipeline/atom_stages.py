"""Phase 4 as a checkpointed stage: skeleton files → atoms (tree-sitter) → graph with levels.

The skeletons themselves are written in the Atomizing phase by
:func:`~mge.pipeline.planning_stages.skeleton_stage`, beside the masterplan they follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge.atomization import RecursiveDecomposer
from mge.errors import InputError
from mge.graph import CyclePolicy, DependencyAnalyzer, DependencyGraph
from mge.models.atoms import AtomicUnit
from mge.models.plan import Masterplan
from mge.pipeline.context import RunContext, input_hash
from mge.pipeline.planning_stages import save

CYCLE_POLICY: CyclePolicy = "merge-untested"
"""Mutually recursive atoms without tests of their own are merged into one unit (see
docs/atomization.md); any other cycle is an error that names it."""


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
