"""Phases 0–3 as checkpointed stages: discovery (with answers), retrieval, masterplan, skeletons.

The skeletons (Atomizing) sit here because they are the masterplan's continuation: the planning
model writes one per task, in task-dependency order, from the plan, the discovery and the
patterns; parsing them into atoms is the next phase (atom_stages.py).

Each stage stores its output as a document keyed by kind, together with the hash of its inputs;
a stage whose inputs hash the same as last time returns the stored output without any LLM call.
"""

from __future__ import annotations

import logging
from typing import Any

from mge.discovery import discover, resolve_answers
from mge.discovery.intake import Ask
from mge.errors import RetrievalUnavailable
from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.pipeline.context import RunContext, input_hash
from mge.pipeline.memory_stages import note_retrieval
from mge.planning import PatternRef, gather_patterns, make_plan, render_patterns
from mge.planning.skeleton import check_ownership, skeleton_files, skeleton_request, task_order

log = logging.getLogger(__name__)

DISCOVERY_DOC = "discovery"
RAW_DISCOVERY_DOC = "discovery/raw"
PLAN_DOC = "plan"
PATTERNS_DOC = "patterns"
TASK_SKELETON_DOC = "skeleton/{task_id}"
"""Checkpoint of one task's skeleton files. All tasks' files together are a different
document, :data:`mge.execution.journal.SKELETON_DOC`, which the run saves after this stage."""


async def checkpoint(ctx: RunContext, kind: str, inputs: str) -> Any:
    """The stored output of stage ``kind`` if it was made from the same ``inputs`` hash."""
    doc = await ctx.store.get_document(ctx.key, kind)
    if doc is not None and doc.get("inputs") == inputs:
        return doc.get("output")
    return None


async def save(ctx: RunContext, kind: str, inputs: str, output: Any) -> None:
    """Store a stage's output with the hash of its inputs."""
    dumped = (
        output.model_dump(mode="json", by_alias=True) if hasattr(output, "model_dump") else output
    )
    await ctx.store.put_document(ctx.key, kind, {"inputs": inputs, "output": dumped})


async def discovery_stage(ctx: RunContext, ask: Ask | None = None) -> DiscoveryResult:
    """Requirements → DDD model, stack, criteria and questions; then apply the answers.

    The model's answer is checkpointed before answers are applied, so changing an answer does
    not repeat the LLM call.
    """
    spec = ctx.spec
    raw_inputs = input_hash(spec.requirements, spec.hints.model_dump(mode="json"))
    stored = await checkpoint(ctx, RAW_DISCOVERY_DOC, raw_inputs)
    if stored is not None:
        raw = DiscoveryResult.model_validate(stored)
        ctx.reporter.note("discovery: reused the stored result (requirements unchanged)")
    else:
        raw = await discover(spec.requirements, spec.hints, ctx.planning_llm, project=ctx.key)
        await save(ctx, RAW_DISCOVERY_DOC, raw_inputs, raw)
    spec_answers = {a.id: a.answer for a in spec.discovery.answers}
    result = resolve_answers(raw, spec_answers, ctx.answers, ask=ask)
    await save(ctx, DISCOVERY_DOC, input_hash(raw_inputs, spec_answers, ctx.answers), result)
    return result


async def retrieval_stage(ctx: RunContext, discovery: DiscoveryResult) -> list[PatternRef]:
    """Patterns for the planner, or none (said plainly) when retrieval is off or unreachable.

    The checkpoint is read first: a later phase (or a restarted operator) gets the patterns the
    plan was made with even without an index at hand, so the plan's inputs do not change.
    """
    inputs = input_hash(discovery.model_dump(mode="json"))
    stored = await checkpoint(ctx, PATTERNS_DOC, inputs)
    if stored is not None:
        return [PatternRef(**p) for p in stored]
    if ctx.patterns is None:
        ctx.reporter.note("retrieval: off (no pattern index); planning without patterns")
        return []
    try:
        refs = await gather_patterns(discovery, ctx.patterns)
    except RetrievalUnavailable as e:
        # Kept like a result, so every later phase plans from the same (empty) inputs.
        note = f"retrieval: unavailable ({e}); planning without patterns"
        ctx.reporter.note(note)
        await note_retrieval(ctx.store, ctx.key, note)
        refs = []
    else:
        await note_retrieval(ctx.store, ctx.key, None)
    await save(ctx, PATTERNS_DOC, inputs, [vars(r) for r in refs])
    ctx.reporter.note(f"retrieval: {len(refs)} patterns: {', '.join(r.pattern_id for r in refs)}")
    return refs


async def planning_stage(
    ctx: RunContext, discovery: DiscoveryResult, patterns: list[PatternRef]
) -> Masterplan:
    """Discovery + patterns → a validated masterplan (one repair round if needed)."""
    inputs = input_hash(discovery.model_dump(mode="json"), [p.pattern_id for p in patterns])
    stored = await checkpoint(ctx, PLAN_DOC, inputs)
    if stored is not None:
        ctx.reporter.note("masterplan: reused the stored plan (inputs unchanged)")
        return Masterplan.model_validate(stored)
    plan = await make_plan(discovery, patterns, ctx.planning_llm, project=ctx.key)
    await save(ctx, PLAN_DOC, inputs, plan)
    await ctx.store.save_tasks(ctx.key, plan.tasks())
    return plan


LANGUAGE_CONVENTIONS: dict[str, tuple[str, ...]] = {
    "typescript": (
        "ES modules run by Node >= 22.18 with types stripped: relative imports end in .ts, "
        "Node's modules are imported as node:<name>",
        "erasable syntax only (no enum, namespace or constructor parameter properties); "
        "import type for types; the code passes tsc --strict",
        'tests: node:test and node:assert/strict in tests/*.test.ts, run by "node --test"',
    ),
    "javascript": (
        "ES modules run by Node >= 20: relative imports end in .js, Node's modules are "
        "imported as node:<name>; JSDoc comments carry the types",
        'tests: node:test and node:assert/strict in tests/*.test.js, run by "node --test"',
    ),
}
"""What generated TypeScript/JavaScript must follow so Node runs it as it is (pure data)."""


def conventions(discovery: DiscoveryResult) -> str:
    """Project-wide conventions for every prompt (stable, so prompt caching hits)."""
    stack = discovery.stack
    lines = [f"- language: {stack.language}"]
    lines += [f"- {rule}" for rule in LANGUAGE_CONVENTIONS.get(stack.language, ())]
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
