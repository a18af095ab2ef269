"""Wiring of one local run over the shop project, as `mge run` wires it (real parts only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shop_project import ATOMS, LEVELS, RECORDINGS, codebase

from mge.execution.executor import ProgressCallback
from mge.execution.generator import DependencyAwareGenerator
from mge.execution.integration import ProgressiveIntegrationTester
from mge.execution.journal import StoreJournal, load_state
from mge.llm.base import Provider
from mge.llm.client import LLMClient
from mge.llm.scripted import ScriptedProvider
from mge.models.project import ProjectSpec
from mge.sandbox import LocalSandbox, RunnerOptions
from mge.store import Store
from mge.validation.batch import LocalBatchValidator, Workspace
from mge.validation.hierarchy import HierarchicalValidator
from mge.validation.runner import TestRunner
from mge.validation.sandboxed import SandboxTestRunner
from mge.validation.typecheck import MypyChecker

PROJECT = "default/shop"


@dataclass
class Rig:
    """Everything one run needs, wired the way `mge run` wires it."""

    store: Store
    provider: ScriptedProvider
    client: LLMClient
    workspace: Workspace
    validator: LocalBatchValidator
    runner: SandboxTestRunner
    integration: ProgressiveIntegrationTester
    hierarchy: HierarchicalValidator
    generator: DependencyAwareGenerator
    journal: StoreJournal


async def make_rig(
    store: Store,
    tmp_path: Path,
    project_spec: ProjectSpec,
    provider: Provider | None = None,
    progress: ProgressCallback | None = None,
    wrap_runner: Callable[[TestRunner], TestRunner] | None = None,
) -> Rig:
    """The run's parts; ``wrap_runner`` may wrap the sandbox runner (to watch or stop it)."""
    scripted = ScriptedProvider(RECORDINGS, priced_as="claude-sonnet-4-5")
    client = LLMClient(provider or scripted, cache=store, ledger=store)
    cb = codebase()
    state = await load_state(store, PROJECT, cb.atoms)
    workspace = Workspace(cb)
    sandbox = LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "scratch"))
    runner = SandboxTestRunner(sandbox.run)
    used: TestRunner = wrap_runner(runner) if wrap_runner is not None else runner
    validator = LocalBatchValidator(workspace, used, MypyChecker(cache_dir=tmp_path / "mypy"))
    journal = StoreJournal(store, PROJECT)
    integration = ProgressiveIntegrationTester(workspace, used, state=state, journal=journal)
    hierarchy = HierarchicalValidator(cb, used)
    generator = DependencyAwareGenerator(
        workspace=workspace,
        llm=client,
        validator=validator,
        spec=project_spec,
        state=state,
        journal=journal,
        project=PROJECT,
        integration=integration,
        hierarchy=hierarchy,
        progress=progress,
    )
    return Rig(
        store,
        scripted,
        client,
        workspace,
        validator,
        runner,
        integration,
        hierarchy,
        generator,
        journal,
    )


def with_dispatch(project_spec: ProjectSpec, dispatch: str) -> ProjectSpec:
    """``project_spec`` with ``spec.execution.dispatch`` set to ``dispatch``."""
    execution = project_spec.execution.model_copy(update={"dispatch": dispatch})
    return project_spec.model_copy(update={"execution": execution})


async def plan(store: Store, project_spec: ProjectSpec) -> None:
    await store.upsert_project(PROJECT, project_spec, 1)
    levels = {a: k for k, level in enumerate(LEVELS) for a in level}
    await store.save_atoms(PROJECT, list(ATOMS.values()), levels)
