"""The local driver: `mge run` runs every phase in order on embedded defaults.

SQLite (or MGE_DATABASE_URL), embedded Chroma, the process sandbox. Each phase is checkpointed
in the store, so a killed run started again resumes: stored stage outputs are reused, the LLM
response cache answers repeated calls for free, and validated atoms are not regenerated.
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
from mge.models.project import ProjectManifest
from mge.pipeline.atom_stages import atomize_stage
from mge.pipeline.collaborators import open_llms, open_pattern_source, recordings_beside
from mge.pipeline.context import Reporter, RunContext
from mge.pipeline.exec_stages import (
    execution_stage,
    integration_stage,
    output_stage,
    review_stage,
)
from mge.pipeline.phases import Phase
from mge.pipeline.planning_stages import (
    discovery_stage,
    planning_stage,
    retrieval_stage,
    save,
    skeleton_stage,
)
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
    client, planner = await open_llms(
        spec.llm, settings, store, recordings=recordings_beside(manifest_dir)
    )
    try:
        await store.upsert_project(key, spec, 1)
        patterns = (
            await open_pattern_source(settings, spec.hints.language) if use_patterns else None
        )
        ctx = RunContext(
            key=key,
            spec=spec,
            store=store,
            llm=client,
            planner=planner,
            patterns=patterns,
            reporter=reporter,
            answers=answers or {},
            workdir=settings.workdir,
            extras={"settings": settings},
        )

        async def enter(phase: Phase, detail: str = "") -> None:
            reporter.phase(phase.value, detail)
            await store.set_phase(key, phase.value)

        await enter(Phase.DISCOVERING)
        discovery = await discovery_stage(ctx, ask)
        refs = await retrieval_stage(ctx, discovery)
        await enter(Phase.PLANNING)
        plan = await planning_stage(ctx, discovery, refs)
        await enter(Phase.ATOMIZING, f"{len(plan.tasks())} tasks")
        files = await skeleton_stage(ctx, discovery, plan, refs)
        await save(ctx, "skeleton", "", files)  # read back by `mge review` / load_codebase
        await enter(Phase.ANALYZING)
        analysis = await atomize_stage(ctx, plan, files)

        from mge.validation.local import local_runner

        runner = local_runner(settings, spec.execution)
        await enter(
            Phase.EXECUTING,
            f"{len(analysis.atoms)} atoms in {len(analysis.graph.levels)} levels",
        )
        ex = await execution_stage(ctx, discovery, analysis, runner=runner, progress=on_progress)
        if ex.result.status != "completed":
            message = ex.result.message or ex.result.status
            await store.set_phase(key, Phase.EXECUTING.value, {"stalled": message})
            reporter.note(f"stopped: {message}")
            return LocalRun(key, Phase.EXECUTING, None, None, message)
        await enter(Phase.INTEGRATING, "L4: the whole suite and the acceptance criteria")
        system = await integration_stage(ctx, discovery, plan, ex, runner)
        reporter.note(
            "system validation: "
            + ", ".join(f"{c.name} {'ok' if c.passed else 'FAILED'}" for c in system.checks)
        )
        await enter(Phase.REVIEWING)
        items = await review_stage(ctx, ex)
        reporter.note(f"{len(items)} atoms queued for review (`mge review list`)")
        # Relative output paths are relative to the current directory, like any CLI's.
        folder = output or Path(spec.output.path or f"out/{key}")
        provider = spec.llm.provider
        report, written = await output_stage(
            ctx,
            discovery,
            analysis,
            ex,
            folder,
            provider=provider,
            model="recording" if provider == "scripted" else spec.llm.model,
            recorded=provider == "scripted",
            wall_s=time.monotonic() - started,
        )
        pending = [i for i in items if i.decision == "pending"]
        final = Phase.REVIEWING if pending else Phase.COMPLETED
        await store.set_phase(key, final.value, {"output": str(written.folder)})
        return LocalRun(key, final, report, written)
    finally:
        await client.aclose()
        if planner is not None:
            await planner.aclose()
        await store.close()
