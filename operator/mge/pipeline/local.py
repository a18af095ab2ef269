"""The local driver: `mge run` walks every row of the phase table in one process.

SQLite (or MGE_DATABASE_URL), embedded Chroma, the process sandbox. Each phase is checkpointed
in the store, so a killed run started again resumes: stored stage outputs are reused, the LLM
response cache answers repeated calls for free, and validated atoms are not regenerated. The
rows are :data:`~mge.pipeline.phase_table.PIPELINE`, the same the operator runs one at a time;
what follows the last row — writing the output folder — is this driver's own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from mge.config import Settings
from mge.discovery.intake import Ask
from mge.execution.executor import ProgressCallback
from mge.execution.output import Written
from mge.execution.report import RunReport
from mge.models.project import Phase, ProjectManifest
from mge.pipeline.collaborators import (
    PatternIndex,
    local_memory,
    open_context,
    recordings_beside,
)
from mge.pipeline.context import Reporter
from mge.pipeline.exec_stages import output_stage
from mge.pipeline.learning import LOCAL_NAMESPACE
from mge.pipeline.memory_stages import learn_stage
from mge.pipeline.phase_table import PIPELINE, Products, SandboxTools, run_step
from mge.pipeline.phases import next_phase
from mge.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalRun:
    """How one `mge run` ended."""

    key: str
    phase: Phase
    report: RunReport | None
    written: Written | None
    message: str = ""


async def run_local(
    manifest: ProjectManifest,
    manifest_dir: Path,
    settings: Settings,
    reporter: Reporter,
    *,
    answers: dict[str, str] | None = None,
    ask: Ask | None = None,
    use_patterns: bool = True,
    output: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> LocalRun:
    """Run the whole pipeline for ``manifest``; returns the phase it ended in and the report."""
    started = time.monotonic()
    spec = manifest.spec
    key = manifest.metadata.name
    settings.workdir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(settings.resolved_database_url())
    try:
        await store.upsert_project(key, spec, 1)
        language = spec.hints.language
        index = PatternIndex(settings) if use_patterns else None
        memory = local_memory(index, key) if index is not None else None
        ctx = await open_context(
            key,
            spec,
            settings,
            store,
            reporter,
            answers=answers or {},
            patterns=index.source(language, [LOCAL_NAMESPACE]) if index is not None else None,
            memory=memory,
            recordings=recordings_beside(manifest_dir),
        )

        async def process_sandbox() -> SandboxTools:
            from mge.validation.local import local_runner, local_validator

            runner = local_runner(settings, spec.execution)
            return SandboxTools(runner, lambda ws: local_validator(ws, runner, settings))

        run = Products(ctx, sandbox_factory=process_sandbox, ask=ask, progress=on_progress)
        try:
            return await _walk(run, started, output)
        finally:
            await ctx.aclose()
    finally:
        await store.close()


async def _walk(run: Products, started: float, output: Path | None) -> LocalRun:
    """Every row of the phase table, then the output folder (this driver's own)."""
    ctx = run.ctx
    key, spec, store, reporter = ctx.key, ctx.spec, ctx.store, ctx.reporter
    for step in PIPELINE:
        if step.work is None:
            continue
        reporter.phase(step.phase.value, await step.detail(run) if step.detail else "")
        await store.set_phase(key, step.phase.value)
        outcome = await run_step(run, step)
        if outcome.stalled:
            reporter.note(f"stopped: {outcome.stalled}")
            return LocalRun(key, step.phase, None, None, outcome.stalled)
    reviewing = next_phase(PIPELINE[-1].phase)  # after the table: the output folder is ours
    reporter.phase(reviewing.value)
    await store.set_phase(key, reviewing.value)
    # Relative output paths are relative to the current directory, like any CLI's.
    folder = output or Path(spec.output.path or f"out/{key}")
    provider = spec.llm.provider
    ex = await run.execution()
    pending = [i for i in ex.review if i.decision == "pending"]
    if not pending and ctx.memory is not None:  # complete: what passed is learned
        reporter.note(await learn_stage(store, key, ctx.memory, spec.hints.framework or "none"))
    report, written = await output_stage(
        ctx,
        await run.discovery(),
        await run.analysis(),
        ex,
        folder,
        provider=provider,
        model="recording" if provider == "scripted" else spec.llm.model,
        recorded=provider == "scripted",
        wall_s=time.monotonic() - started,
    )
    final = Phase.REVIEWING if pending else Phase.COMPLETED
    await store.set_phase(key, final.value, {"output": str(written.folder)})
    return LocalRun(key, final, report, written)
