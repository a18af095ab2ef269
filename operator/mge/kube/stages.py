"""The operator's PhaseRunner: advances a Project one phase with the pipeline's stage functions.

Each call builds a :class:`~mge.pipeline.context.RunContext` for the Project from the store (its
spec was upserted by the reconcile), runs the phase's row of the pipeline's phase table through
:func:`mge.pipeline.cluster.run_cluster_phase`, checkpoints the phase reached in the store and
returns it. Stages keep their outputs keyed by input hashes and every LLM response is cached in
the store, so a phase re-run after a kill costs no second LLM call.

Generated code never runs in the operator process: the execution stage validates through
:class:`~mge.kube.jobs.KubeBatchValidator` (one Job per batch per level) and module,
integration and system runs go through :meth:`~mge.kube.jobs.KubeJobRunner.suite_runner`
(one Job per run). Both need the Project object (owner references, generation), read here, and
are built only when the row runs generated code. A review's regeneration opens the Project's
LLM client through :meth:`StageRunner.llm` (kube/decisions.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mge.config import Settings, load_settings
from mge.errors import InputError
from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeBatchValidator, KubeJobRunner
from mge.llm import LLMClient
from mge.models.project import LLMSpec, Phase, ProjectSpec, SecretKeyRef
from mge.pipeline.cluster import run_cluster_phase
from mge.pipeline.collaborators import KeyFor, PatternIndex, open_context, open_llm
from mge.pipeline.context import LogReporter, Memory, RunContext
from mge.pipeline.learning import visible_namespaces
from mge.pipeline.memory_stages import learn_stage
from mge.pipeline.phase_table import SandboxTools, without_work
from mge.store import Store
from mge.validation.batch import BatchValidator, Workspace
from mge.validation.local import type_checkers

log = logging.getLogger("mge.operator.stages")


def split_key(key: str) -> tuple[str, str]:
    """``namespace/name`` → (namespace, name)."""
    namespace, _, name = key.partition("/")
    if not name:
        raise InputError(f"project key {key!r} is not namespace/name")
    return namespace, name


class StageRunner:
    """A :class:`~mge.kube.worker.PhaseRunner` over the store, the pipeline and sandbox Jobs."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        kube: KubeClient | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or load_settings()
        self.operator = self.settings.operator
        self.kube = kube
        self.patterns = PatternIndex(self.settings)
        """Retrieval for every Project this operator plans (a Chroma server at ``chroma_url``,
        else an embedded index in the workdir), opened at the first query."""

    def _recordings(self, llm: LLMSpec) -> Path | None:
        if llm.provider != "scripted" or not llm.recordings:
            return None
        return self.operator.recordings_for(llm.recordings)

    def _key_for(self, key: str) -> KeyFor:
        """Reads the API key of an ``llm`` spec from the Project's Secret."""

        async def api_key(llm: LLMSpec, field: str) -> SecretStr | None:
            return await self._api_key(key, llm.secret_ref, field)

        return api_key

    async def llm(self, key: str, spec: ProjectSpec) -> LLMClient:
        """The Project's own LLM client (not the planner's): a review's regeneration."""
        return await open_llm(
            spec.llm,
            self.settings,
            self.store,
            recordings=self._recordings,
            api_key=self._key_for(key),
        )

    def memory(self, key: str) -> Memory:
        """Learned code for the Project ``key``: examples only from the namespaces it may see
        (its own, plus what ``operator.share_learned`` shares), learning under its own."""
        namespace, name = split_key(key)
        visible = visible_namespaces(namespace, self.operator.share_learned)
        return Memory(namespace, name, self.patterns.examples(visible), self.patterns.learn)

    async def learn(self, key: str) -> str:
        """The learn step of a completed Project; returns its one-line account."""
        stored = await self.store.get_project(key)
        framework = (stored.spec.hints.framework if stored else None) or "none"
        return await learn_stage(self.store, key, self.memory(key), framework)

    async def context(self, key: str) -> RunContext:
        """The RunContext of one Project, from its stored spec."""
        stored = await self.store.get_project(key)
        if stored is None:
            raise InputError(f"project {key} is not in the store")
        namespace, _ = split_key(key)
        visible = visible_namespaces(namespace, self.operator.share_learned)
        return await open_context(
            key,
            stored.spec,
            self.settings,
            self.store,
            LogReporter(lambda line: log.info("%s: %s", key, line)),
            answers={a.id: a.answer for a in stored.spec.discovery.answers},
            patterns=self.patterns.source(stored.spec.hints.language, visible),
            memory=self.memory(key),
            recordings=self._recordings,
            api_key=self._key_for(key),
        )

    async def _api_key(self, key: str, ref: SecretKeyRef | None, field: str) -> SecretStr | None:
        """The LLM key from the Secret ``ref`` (field ``field``, in the Project's namespace).

        A missing Secret or key is an InputError naming both, so the Project fails with a message
        a person can act on instead of an authentication error from the provider.
        """
        if ref is None:
            return None
        if self.kube is None:
            raise InputError(f"{field} needs the operator's Kubernetes client")
        namespace, _ = split_key(key)
        value = await self.kube.secret_value(namespace, ref.name, ref.key)
        if value is None or not value.get_secret_value():
            raise InputError(
                f"{field}: Secret {ref.name!r} in namespace {namespace!r} has no "
                f"non-empty key {ref.key!r}; create it, e.g. kubectl create secret generic "
                f"{ref.name} --from-literal={ref.key}=YOUR_KEY"
            )
        return value

    async def project_body(self, key: str) -> dict[str, Any]:
        """The Project object (for owner references of its Jobs)."""
        if self.kube is None:
            raise InputError("the operator's StageRunner needs a Kubernetes client for Jobs")
        namespace, name = split_key(key)
        body = await self.kube.get("Project", namespace, name)
        if body is None:
            raise InputError(f"Project {key} is gone")
        return body

    def job_runner(self, body: dict[str, Any], spec: ProjectSpec, generation: int) -> KubeJobRunner:
        """The sandbox Job runner for one Project generation."""
        assert self.kube is not None
        meta = body["metadata"]
        target = JobTarget(
            namespace=meta["namespace"],
            project=meta["name"],
            owner=body,
            generation=generation,
            execution=spec.execution,
        )
        return KubeJobRunner(self.kube, target, poll_max=self.operator.job_poll_max_seconds)

    def validator_factory(self, jobs: KubeJobRunner) -> Callable[[Workspace], BatchValidator]:
        """Builds the L1 validator (sandbox Jobs, mypy and tsc in the operator as locally)."""
        checkers = type_checkers(self.settings)

        def make(workspace: Workspace) -> BatchValidator:
            return KubeBatchValidator(workspace, jobs, checkers)

        return make

    async def tools(self, key: str, spec: ProjectSpec, generation: int) -> SandboxTools:
        """Sandbox Jobs for the phases that run generated code."""
        jobs = self.job_runner(await self.project_body(key), spec, generation)
        return SandboxTools(tests=jobs.suite_runner(), make_validator=self.validator_factory(jobs))

    async def __call__(self, key: str, generation: int, phase: Phase) -> Phase:
        """Run ``phase`` and checkpoint the phase reached."""
        reached = without_work(phase)  # Pending: no context, no LLM client, no Secret read
        if reached is None:
            ctx = await self.context(key)
            try:
                sandbox = partial(self.tools, key, ctx.spec, generation)
                reached = await run_cluster_phase(ctx, phase, sandbox)
            finally:
                await ctx.aclose()
        if reached != phase:
            await self.store.set_phase(key, reached.value)
        return reached
