"""The pipeline as one table: the stage step of each phase, what it reads, what it checkpoints.

Both drivers walk :data:`PIPELINE`. `mge run` (local.py) runs every row in one process;
the operator's PhaseRunner (cluster.py, through kube/stages.py) runs one row per call and may be
killed between any two. The rows are the same; only :class:`Products` differs in what it
already holds: locally each product is made once and passed on in memory, in the cluster a fresh
call reads it back from the store (every stage returns its stored output when its inputs hash
the same, so reading back costs no LLM call).

    Pending → Discovering (discovery_stage) → Planning (retrieval_stage, planning_stage)
    → Atomizing (skeleton_stage) → Analyzing (atomize_stage) → Executing (execution_stage)
    → Integrating (integration_stage, review_stage, store_output) → Reviewing (the drivers':
    `mge run` writes the output folder; the operator makes AtomReviews)

Each row below says what its step reads and what it checkpoints in the store.
Adding a phase is its name in :class:`~mge.pipeline.phases.Phase` (whose declaration order is
the order) and its row here. No Kubernetes import: the sandbox is passed in as
:class:`SandboxTools` (the process sandbox locally, Jobs in the cluster).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mge.discovery.intake import Ask
from mge.errors import InputError
from mge.execution.budget import BudgetLimit
from mge.execution.executor import ProgressCallback
from mge.execution.journal import SKELETON_DOC
from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.models.project import Phase
from mge.pipeline.atom_stages import Analysis, atomize_stage
from mge.pipeline.context import RunContext
from mge.pipeline.exec_stages import (
    Execution,
    execution_stage,
    integration_stage,
    review_stage,
    store_output,
    stored_execution,
)
from mge.pipeline.phases import next_phase
from mge.pipeline.planning_stages import (
    discovery_stage,
    planning_stage,
    retrieval_stage,
    save,
    skeleton_stage,
)
from mge.planning import PatternRef
from mge.validation.batch import BatchValidator, Workspace
from mge.validation.sandboxed import SandboxTestRunner

__all__ = [
    "PIPELINE",
    "STEPS",
    "PhaseStep",
    "Products",
    "SandboxFactory",
    "SandboxTools",
    "StepOutcome",
    "run_step",
    "without_work",
]


@dataclass(frozen=True)
class SandboxTools:
    """What runs generated code: the process sandbox locally, sandbox Jobs in the cluster."""

    tests: SandboxTestRunner
    """Module, integration and system runs (L2–L4)."""
    make_validator: Callable[[Workspace], BatchValidator]
    """The L1 batch validator over the execution stage's workspace."""


SandboxFactory = Callable[[], Awaitable[SandboxTools]]
"""Builds the sandbox when a step first needs it (only Executing and Integrating do)."""


@dataclass
class Products:
    """What the stages made so far for one run, each made or read back at most once.

    A getter runs its stage (which answers from its store checkpoint when the inputs are
    unchanged) the first time and keeps the result, so a step asks for what it reads without
    knowing whether this process made it a moment ago (`mge run`) or a killed one did (operator).
    """

    ctx: RunContext
    sandbox_factory: SandboxFactory | None = None
    ask: Ask | None = None
    """Asks open clarifying questions (a terminal prompt locally; None in the cluster)."""
    progress: ProgressCallback | None = None
    """Execution progress (the progress bar locally)."""
    executed: Execution | None = None
    """Set by the Executing step; later steps read the store's when this process did not
    execute (the cluster's next phase call)."""
    _sandbox: SandboxTools | None = field(default=None, init=False)
    _discovery: DiscoveryResult | None = field(default=None, init=False)
    _patterns: list[PatternRef] | None = field(default=None, init=False)
    _plan: Masterplan | None = field(default=None, init=False)
    _skeleton: dict[str, str] | None = field(default=None, init=False)
    _analysis: Analysis | None = field(default=None, init=False)

    async def sandbox(self, phase: Phase) -> SandboxTools:
        """The sandbox tools; InputError when the driver gave none (a step that runs code)."""
        if self._sandbox is None:
            if self.sandbox_factory is None:
                raise InputError(
                    f"phase {phase.value} runs generated code: it needs the sandbox tools"
                )
            self._sandbox = await self.sandbox_factory()
        return self._sandbox

    async def discovery(self) -> DiscoveryResult:
        """The answered discovery result."""
        if self._discovery is None:
            self._discovery = await discovery_stage(self.ctx, self.ask)
        return self._discovery

    async def patterns(self) -> list[PatternRef]:
        """The patterns offered to the planner (none when retrieval is off)."""
        if self._patterns is None:
            self._patterns = await retrieval_stage(self.ctx, await self.discovery())
        return self._patterns

    async def plan(self) -> Masterplan:
        """The validated masterplan."""
        if self._plan is None:
            self._plan = await planning_stage(
                self.ctx, await self.discovery(), await self.patterns()
            )
        return self._plan

    async def skeleton(self) -> dict[str, str]:
        """Every task's skeleton files (path → text)."""
        if self._skeleton is None:
            discovery, plan, patterns = (
                await self.discovery(),
                await self.plan(),
                await self.patterns(),
            )
            self._skeleton = await skeleton_stage(self.ctx, discovery, plan, patterns)
        return self._skeleton

    async def analysis(self) -> Analysis:
        """Atoms and their levelled dependency graph."""
        if self._analysis is None:
            self._analysis = await atomize_stage(self.ctx, await self.plan(), await self.skeleton())
        return self._analysis

    async def execution(self) -> Execution:
        """The finished execution: this run's, or the store's."""
        if self.executed is None:
            self.executed = await stored_execution(self.ctx, await self.analysis())
        return self.executed


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended."""

    summary: Mapping[str, Any] | None = None
    """Recorded with the phase in the store (the operator's status progress reads it)."""
    stalled: str = ""
    """Non-empty: the run stops in this phase (a budget limit); run again to resume."""
    budget_limit: BudgetLimit | None = None
    """Which budget limit stopped it (with ``stalled``)."""


Work = Callable[[Products], Awaitable[StepOutcome]]
Detail = Callable[[Products], Awaitable[str]]


@dataclass(frozen=True)
class PhaseStep:
    """One row of the table."""

    phase: Phase
    work: Work | None
    """The stage step; None: the phase is only a waypoint (Pending)."""
    reads: tuple[str, ...] = ()
    """Products and store rows the step reads (documentation and tests)."""
    checkpoints: tuple[str, ...] = ()
    """Store documents and rows the step writes, so a re-run reads them back."""
    runs_code: bool = False
    """Needs the sandbox tools (generated code runs)."""
    detail: Detail | None = None
    """A short line for the progress display when the phase starts."""


async def _discover(run: Products) -> StepOutcome:
    await run.discovery()
    return StepOutcome()


async def _plan(run: Products) -> StepOutcome:
    await run.plan()
    return StepOutcome()


async def _skeletons(run: Products) -> StepOutcome:
    await save(run.ctx, SKELETON_DOC, "", await run.skeleton())  # read back by load_codebase
    return StepOutcome()


async def _analyse(run: Products) -> StepOutcome:
    analysis = await run.analysis()
    return StepOutcome({"level": 0, "levels": len(analysis.graph.levels)})


async def _execute(run: Products) -> StepOutcome:
    sandbox = await run.sandbox(Phase.EXECUTING)
    discovery, analysis = await run.discovery(), await run.analysis()
    ex = await execution_stage(
        run.ctx,
        discovery,
        analysis,
        runner=sandbox.tests,
        make_validator=sandbox.make_validator,
        progress=run.progress,
    )
    run.executed = ex
    summary = {"level": ex.result.levels_done, "levels": len(analysis.graph.levels)}
    if ex.result.status != "completed":
        message = ex.result.message or ex.result.status
        return StepOutcome(
            {**summary, "stalled": message}, stalled=message, budget_limit=ex.result.budget_limit
        )
    return StepOutcome(summary)


async def _integrate(run: Products) -> StepOutcome:
    sandbox = await run.sandbox(Phase.INTEGRATING)
    ctx, ex = run.ctx, await run.execution()
    system = await integration_stage(
        ctx, await run.discovery(), await run.plan(), ex, sandbox.tests
    )
    ctx.reporter.note(
        "system validation: "
        + ", ".join(f"{c.name} {'ok' if c.passed else 'FAILED'}" for c in system.checks)
    )
    items = await review_stage(ctx, ex)
    await store_output(ctx.store, ctx.key)
    ctx.reporter.note(f"{len(items)} atoms queued for review")
    return StepOutcome()


async def _tasks(run: Products) -> str:
    return f"{len((await run.plan()).tasks())} tasks"


async def _atoms(run: Products) -> str:
    analysis = await run.analysis()
    return f"{len(analysis.atoms)} atoms in {len(analysis.graph.levels)} levels"


async def _system(run: Products) -> str:
    return "L4: the whole suite and the acceptance criteria"


PIPELINE: tuple[PhaseStep, ...] = (
    PhaseStep(Phase.PENDING, None),
    PhaseStep(
        Phase.DISCOVERING,
        _discover,
        reads=("spec.requirements", "spec.hints", "answers"),
        checkpoints=("discovery/raw", "discovery"),
    ),
    PhaseStep(
        Phase.PLANNING,
        _plan,
        reads=("discovery",),
        checkpoints=("patterns", "plan", "tasks"),
    ),
    PhaseStep(
        Phase.ATOMIZING,
        _skeletons,
        reads=("discovery", "plan", "patterns"),
        checkpoints=("skeleton/<task>", SKELETON_DOC),
        detail=_tasks,
    ),
    PhaseStep(
        Phase.ANALYZING,
        _analyse,
        reads=("plan", "skeleton/<task>"),
        checkpoints=("atoms", "edges", "graph"),
    ),
    PhaseStep(
        Phase.EXECUTING,
        _execute,
        reads=("discovery", "atoms", "atom states"),
        checkpoints=("attempts", "atom states"),
        runs_code=True,
        detail=_atoms,
    ),
    PhaseStep(
        Phase.INTEGRATING,
        _integrate,
        reads=("discovery", "plan", "atoms", "atom states"),
        checkpoints=("validations", "review items", "output"),
        runs_code=True,
        detail=_system,
    ),
)
"""The phases the pipeline computes, in order; the phase after the last row is the drivers'."""

STEPS: Mapping[Phase, PhaseStep] = {step.phase: step for step in PIPELINE}


def without_work(phase: Phase) -> Phase | None:
    """The phase reached from ``phase`` without computing anything, or None when it has work.

    Pending advances at once; a phase with no row (Reviewing onwards) stays where it is: the
    driver decides what happens there.
    """
    step = STEPS.get(phase)
    if step is None:
        return phase
    return next_phase(phase) if step.work is None else None


async def run_step(run: Products, step: PhaseStep) -> StepOutcome:
    """Run one row: its sandbox first (a missing one fails before any work), then its step,
    then record its summary with the phase in the store."""
    if step.work is None:
        return StepOutcome()
    if step.runs_code:
        await run.sandbox(step.phase)
    outcome = await step.work(run)
    if outcome.summary is not None:
        await run.ctx.store.set_phase(run.ctx.key, step.phase.value, outcome.summary)
    return outcome
