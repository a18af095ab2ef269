"""The operator's PhaseRunner: advances a Project one phase using the pipeline's stage functions.

Each call builds a :class:`~mge.pipeline.context.RunContext` for the Project from the store (its
spec was upserted by the reconcile), runs the stage of the given phase, checkpoints the phase
reached in the store and returns it. Stages keep their outputs keyed by input hashes and every
LLM response is cached in the store, so a phase re-run after a kill costs no second LLM call.

Phases without an operator stage yet (atomization onwards) are delegated to
``mge.pipeline.stages.run_phase`` when the pipeline provides it, else they raise
NotAvailableYet, which the reconcile reports as ``Stalled`` / ``PipelineBlocked``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mge.config import Settings, load_settings
from mge.errors import InputError
from mge.kube.settings import OperatorSettings
from mge.kube.worker import pipeline_phase_runner
from mge.llm import LLMClient, make_provider
from mge.models.project import ProjectSpec
from mge.pipeline.context import LogReporter, RunContext
from mge.pipeline.phases import Phase, next_phase
from mge.store import Store

log = logging.getLogger("mge.operator.stages")


class StageRunner:
    """A :class:`~mge.kube.worker.PhaseRunner` over the store and the pipeline stages."""

    def __init__(
        self, store: Store, operator: OperatorSettings, settings: Settings | None = None
    ) -> None:
        self.store = store
        self.operator = operator
        self.settings = settings or load_settings()

    def _recordings(self, spec: ProjectSpec) -> Path | None:
        if spec.llm.provider != "scripted" or not spec.llm.recordings:
            return None
        return self.operator.recordings_for(spec.llm.recordings)

    async def context(self, key: str) -> RunContext:
        """The RunContext of one Project, from its stored spec."""
        stored = await self.store.get_project(key)
        if stored is None:
            raise InputError(f"project {key} is not in the store")
        spec = stored.spec
        provider = make_provider(spec.llm, self.settings, self._recordings(spec))
        llm = LLMClient.from_settings(provider, self.settings, cache=self.store, ledger=self.store)
        return RunContext(
            key=key,
            spec=spec,
            store=self.store,
            llm=llm,
            patterns=None,
            reporter=LogReporter(lambda line: log.info("%s: %s", key, line)),
            answers={a.id: a.answer for a in spec.discovery.answers},
        )

    async def __call__(self, key: str, generation: int, phase: Phase) -> Phase:
        """Run ``phase`` and checkpoint the phase reached."""
        from mge.pipeline import planning_stages as stages

        if phase == Phase.PENDING:
            reached = Phase.DISCOVERING
        elif phase == Phase.DISCOVERING:
            await stages.discovery_stage(await self.context(key))
            reached = Phase.PLANNING
        elif phase == Phase.PLANNING:
            ctx = await self.context(key)
            discovery = await stages.discovery_stage(ctx)
            patterns = await stages.retrieval_stage(ctx, discovery)
            await stages.planning_stage(ctx, discovery, patterns)
            reached = next_phase(phase)
        else:
            reached = await pipeline_phase_runner(key, generation, phase)
        await self.store.set_phase(key, reached.value)
        return reached
