"""DependencyAwareGenerator: execute the dependency graph.

Level k holds atoms whose dependencies are all in levels < k. By default the levels run one
after the other, so when level k starts every dependency has either validated code (shown to the
model in full) or ended in review (shown as its signature only): nothing is generated against
unvalidated code. After each level the integration tester runs a checkpoint for what accumulated,
and every module whose atoms are all settled gets its L2 validation. Dispatch ``ready``
(mge.execution.graphrun) starts an atom as soon as its own dependencies are settled and runs the
end-of-level checks beside later atoms instead of in front of them; ``spec.execution.dispatch``
chooses (see ``Dispatch``).

The run stops cleanly when the budget is reached (status ``budget_exceeded``; resuming with a
higher budget continues from the stored state).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from mge.errors import InputError
from mge.execution.budget import Budget, BudgetLimit
from mge.execution.executor import (
    BATCH_LINGER_SECONDS,
    AtomExecutorWithRetry,
    Completer,
    LevelOutcome,
    ProgressCallback,
    Requeue,
)
from mge.execution.graphrun import GraphRun
from mge.execution.integration import ProgressiveIntegrationTester
from mge.execution.performance.gate import PerformanceGate
from mge.execution.performance.judge import performance_feedback
from mge.execution.prompting import ExampleSource
from mge.execution.readiness.gate import ReadinessGate
from mge.execution.readiness.verdict import retry_feedback
from mge.execution.state import ExecutionResult, ExecutionState, Journal, MemoryJournal
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import CheckResult, ValidationResult
from mge.models.performance import PerformanceReport
from mge.models.project import ProjectSpec
from mge.models.readiness import Finding, ReadinessReport
from mge.validation.batch import BatchValidator, Workspace
from mge.validation.codebase import stub_failures
from mge.validation.hierarchy import HierarchicalValidator
from mge.validation.source import definitions


def level_problems(levels: Sequence[Sequence[str]], atoms: Mapping[str, AtomicUnit]) -> list[str]:
    """Why ``levels`` is not a valid execution order (pure): unknown atoms, atoms listed
    twice, or a dependency that is not in an earlier level."""
    problems: list[str] = []
    level_of: dict[str, int] = {}
    for k, level in enumerate(levels):
        for atom_id in level:
            if atom_id not in atoms:
                problems.append(f"level {k}: unknown atom {atom_id!r}")
            elif atom_id in level_of:
                problems.append(f"atom {atom_id!r} is in levels {level_of[atom_id]} and {k}")
            else:
                level_of[atom_id] = k
    for atom_id, k in level_of.items():
        for dep in atoms[atom_id].dependencies:
            if dep in atoms and level_of.get(dep, k) >= k:
                problems.append(
                    f"atom {atom_id!r} (level {k}) depends on {dep!r} "
                    f"(level {level_of.get(dep, 'none')}), which is not an earlier level"
                )
    return problems


Dispatch = Literal["ready", "level"]
"""How atoms start (``spec.execution.dispatch``): ``level`` (the default) when their whole level
may start, ``ready`` as soon as their own dependencies are settled (mge.execution.graphrun;
faster, opt-in). Either way a batch is recorded with what it is checked against
(mge.execution.views), so a restarted run checks a batch it re-forms against the same code and
makes the same Job. ``ready`` stays opt-in because a dependency validated and then sent back by
its level's checkpoint may already have cost a dependent an attempt (level by level the
dependent starts after that checkpoint): a run's retries can depend on timing, and examples
recorded level by level ask for attempts they do not have. With ``ready`` the progress shows the
first level not yet done, so it moves forward only."""

READINESS_PROGRESS = "readiness"
"""The journal's progress document holding the last readiness report (for the output)."""


PERFORMANCE_PROGRESS = "performance"
"""The journal's progress document holding the last performance report (for the output)."""


def performance_validation(report: PerformanceReport) -> ValidationResult:
    """The benchmarks as an L3 validation: a check per criterion; in ``report`` mode a miss
    does not fail it (pure)."""
    checks = [
        CheckResult(
            name=f"performance/{r.criterion.id}",
            passed=r.passed or report.mode != "block",
            detail=(r.error or r.figures())[:4000],
        )
        for r in report.results
    ]
    return ValidationResult(
        level="L3", subject="performance", passed=all(c.passed for c in checks), checks=checks
    )


def readiness_validation(report: ReadinessReport) -> ValidationResult:
    """The readiness report as an L4 validation: a check per tool; only blocking ones can
    fail it (pure)."""
    checks = [
        CheckResult(
            name=f"readiness/{c.name}",
            passed=c.passed or c.mode != "block",
            detail=(c.error or "\n".join(f.text() for f in c.findings[:20]))[:4000],
        )
        for c in report.checks
    ]
    return ValidationResult(
        level="L4", subject="readiness", passed=all(c.passed for c in checks), checks=checks
    )


def spliceable(workspace: Workspace, atom_id: str) -> bool:
    """True when the skeleton has a definition to put the atom's code into."""
    atom = workspace.codebase.atoms[atom_id]
    source = workspace.codebase.files.get(atom.file)
    if source is None:
        return False
    return atom.qualname in definitions(source, workspace.codebase.language(atom.file))


def budget_from_state(spec: ProjectSpec, state: ExecutionState) -> Budget:
    """A budget whose spend is the cost of the attempts already made (use the ledger total
    instead when earlier phases were paid too)."""
    spent = sum(a.cost_usd for p in state.atoms.values() for a in p.attempts)
    started = [a for a, p in state.atoms.items() if p.attempts]
    return Budget.from_spec(spec.budget, spent, started)


class DependencyAwareGenerator:
    """Runs the levels with one AtomExecutorWithRetry (see module docstring)."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        llm: Completer,
        validator: BatchValidator,
        spec: ProjectSpec,
        state: ExecutionState | None = None,
        journal: Journal | None = None,
        budget: Budget | None = None,
        project: str | None = None,
        conventions: str = "",
        integration: ProgressiveIntegrationTester | None = None,
        hierarchy: HierarchicalValidator | None = None,
        readiness: ReadinessGate | None = None,
        performance: PerformanceGate | None = None,
        progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        batch_linger_s: float = BATCH_LINGER_SECONDS,
        examples: ExampleSource | None = None,
    ) -> None:
        self.workspace = workspace
        self.spec = spec
        self.dispatch: Dispatch = spec.execution.dispatch
        self.state = state or ExecutionState.fresh(workspace.codebase.atoms)
        self.journal: Journal = journal or MemoryJournal()
        self.budget = budget or budget_from_state(spec, self.state)
        self.integration = integration
        self.hierarchy = hierarchy
        self.readiness = readiness
        self.performance = performance
        self.clock = clock
        self.executor = AtomExecutorWithRetry(
            llm=llm,
            validator=validator,
            workspace=workspace,
            state=self.state,
            journal=self.journal,
            budget=self.budget,
            spec=spec.execution,
            base_temperature=spec.llm.temperature,
            project=project,
            conventions=conventions,
            integration=integration,
            progress=progress,
            clock=clock,
            batch_linger_s=batch_linger_s,
            examples=examples,
        )
        self._modules_checked: set[str] = set()
        self._level_of: dict[str, int] = {}

    async def run(self, levels: Sequence[Sequence[str]]) -> ExecutionResult:
        """Execute ``levels`` in order; returns how it ended with the run's figures."""
        problems = level_problems(levels, self.workspace.codebase.atoms)
        if problems:
            raise InputError("the execution levels are inconsistent:\n" + "\n".join(problems))
        unspliceable = [a for level in levels for a in level if not spliceable(self.workspace, a)]
        if unspliceable:
            raise InputError(
                "these atoms have no definition in their skeleton file to receive code: "
                + ", ".join(unspliceable)
            )
        self.workspace.validated.update(self.state.validated_codes())
        self._level_of = {a: k for k, level in enumerate(levels) for a in level}
        if self.integration is not None:
            await self.integration.resume(levels)
        self.executor.levels_total = len(levels)
        start = self.clock()
        result = ExecutionResult(status="completed", state=self.state, levels=len(levels))
        if self.dispatch == "ready":
            await self._run_graph(result, levels)
        else:
            await self._run_levels(result, levels)
        finished = result.levels_done == len(levels) and bool(levels)
        if self.performance is not None and self.performance.active and finished:
            await self._performance(result, len(levels) - 1)
        if self.readiness is not None and finished:
            await self._readiness(result, len(levels) - 1)
        if self.integration is not None:
            result.integration = list(self.integration.results)
        result.wall_s = round(self.clock() - start, 3)
        return result

    async def _run_graph(self, result: ExecutionResult, levels: Sequence[Sequence[str]]) -> None:
        """Dependency-ready dispatch (mge.execution.graphrun): the same checks, off the
        critical path."""
        atoms = self.workspace.codebase.atoms
        integration = self.integration

        async def flush(k: int) -> list[Requeue]:
            return await integration.flush(k) if integration is not None else []

        async def close(k: int) -> None:
            await self._check_modules(result, k, final=k == len(levels) - 1)
            result.levels_done = k + 1

        run = GraphRun(
            self.executor,
            levels,
            {a: atoms[a].dependencies for level in levels for a in level},
            flush=flush,
            close=close,
        )
        self.workspace.level_of = dict(self._level_of)
        try:
            stop = await run.run()
        finally:
            self.workspace.level_of = None
            for outcome in run.outcomes:
                self._tally(result, outcome)
        if stop is not None:
            result.status = "budget_exceeded"
            result.budget_limit = BudgetLimit(stop.what)
            result.message = (
                f"{stop}; stopped before level {result.levels_done} finished. Raise "
                "spec.budget and run again to continue: nothing done so far is lost."
            )

    async def _run_levels(self, result: ExecutionResult, levels: Sequence[Sequence[str]]) -> None:
        """Level by level: each level starts when the previous one and its checks are done."""
        for k, level in enumerate(levels):
            outcome = await self.executor.run_level(k, level)
            self._tally(result, outcome)
            if outcome.budget_stop is None and self.integration is not None:
                outcome = await self._final_checkpoint(k)
                self._tally(result, outcome)
            if outcome.budget_stop is not None:
                result.status = "budget_exceeded"
                result.budget_limit = BudgetLimit(outcome.budget_stop.what)
                result.message = (
                    f"{outcome.budget_stop}; stopped before level {k} finished. Raise "
                    "spec.budget and run again to continue: nothing done so far is lost."
                )
                break
            await self._check_modules(result, k, final=k == len(levels) - 1)
            result.levels_done = k + 1

    async def _final_checkpoint(self, level: int) -> LevelOutcome:
        """Integration checkpoint at the end of a level, then another round for the culprits."""
        assert self.integration is not None
        requeues = await self.integration.flush(level)
        outcome = LevelOutcome(level)
        again = [r.atom_id for r in requeues if await self.executor.requeue(r, outcome)]
        if again:
            more = await self.executor.run_level(level, again)
            more.failed = outcome.failed + more.failed
            return more
        return outcome

    async def _performance(self, result: ExecutionResult, last: int) -> None:
        """L3 benchmarks on the finished codebase (before readiness: a faster rewrite must
        pass the readiness checks too); in ``block`` mode the hot-path atoms of a missed
        budget are regenerated with the figures as feedback (``retries`` rounds), then the
        benchmarks run again."""
        assert self.performance is not None
        policy = self.performance.policy
        retried: list[str] = []
        caught: list[str] = []
        rounds = 0
        while True:
            rounds += 1
            report = await self.performance.check(self.workspace.validated)
            feedback = performance_feedback(report) if policy.mode == "block" else {}
            if rounds > policy.retries or not feedback:
                break
            again = await self._send_back(feedback, last)
            if not again:
                break
            retried += again
            caught += [
                f"{r.criterion.id}: {r.figures()} — sent back "
                + ", ".join(h.qualname or h.atom_id for h in r.hot if h.atom_id in again)
                for r in report.missed
                if any(h.atom_id in again for h in r.hot)
            ]
            if await self._run_again(result, last, again):
                break
        report = report.model_copy(update={"rounds": rounds, "retried": retried, "caught": caught})
        result.performance = report
        check = performance_validation(report)
        result.modules.append(check)
        await self.journal.validation(check)
        await self.journal.save_progress(PERFORMANCE_PROGRESS, report.wire())

    async def _send_back(self, feedback: Mapping[str, str], last: int) -> list[str]:
        """Requeue each atom named in ``feedback`` with its text; the atoms that took it."""
        outcome = LevelOutcome(last)
        return [
            r.atom_id
            for r in (Requeue(a, text) for a, text in feedback.items())
            if await self.executor.requeue(r, outcome)
        ]

    async def _run_again(self, result: ExecutionResult, last: int, again: list[str]) -> bool:
        """Run the sent-back atoms at the last level; True when the budget stopped it."""
        more = await self.executor.run_level(last, again)
        self._tally(result, more)
        return more.budget_stop is not None

    async def _readiness(self, result: ExecutionResult, last: int) -> None:
        """L4 readiness on the finished codebase; atoms named by a blocking finding are
        regenerated with the findings as feedback (``retries`` rounds), then checked again."""
        assert self.readiness is not None
        retries = self.readiness.policy.retries
        retried: list[str] = []
        caught: list[Finding] = []
        rounds = 0
        while True:
            rounds += 1
            report = await self.readiness.check(self.workspace.validated)
            feedback = retry_feedback(report)
            if rounds > retries or not feedback:
                break
            again = await self._send_back(feedback, last)
            if not again:
                break
            retried += again
            caught += [
                f for c in report.blocking_failures for f in c.findings if f.atom_id in again
            ]
            if await self._run_again(result, last, again):
                break
        report = report.model_copy(update={"rounds": rounds, "retried": retried, "caught": caught})
        result.readiness = report
        check = readiness_validation(report)
        result.modules.append(check)
        await self.journal.validation(check)
        await self.journal.save_progress(READINESS_PROGRESS, report.wire())

    def _tally(self, result: ExecutionResult, outcome: LevelOutcome) -> None:
        result.cache_hits += outcome.cache_hits
        result.llm_calls += outcome.llm_calls

    def _settled_by(self, atom_id: str, level: int) -> bool:
        """Settled at the end of ``level`` in an uninterrupted run: of a level up to ``level``
        and settled now. A resumed run replaying an early level must not count atoms of later
        levels that an earlier process settled, or it checks code no uninterrupted run checked."""
        progress = self.state.atoms.get(atom_id)
        return (
            progress is not None
            and progress.settled
            and self._level_of.get(atom_id, level) <= level
        )

    async def _check_modules(self, result: ExecutionResult, level: int, final: bool) -> None:
        """L2 for each module whose atoms are all settled by the end of ``level`` (once per
        module).

        A module whose tests fail only because they reach functions of *other* modules that
        are not settled yet is checked again after a later level (its tests are not ready);
        after the last level every result counts.
        """
        if self.hierarchy is None:
            return
        codebase = self.workspace.codebase
        validated = {
            a: code
            for a, code in self.workspace.validated.items()
            if self._level_of.get(a, level) <= level
        }
        for path, atoms in sorted(codebase.atoms_by_file.items()):
            if path in self._modules_checked:
                continue
            if not all(self._settled_by(a.id, level) for a in atoms if a.id in self.state.atoms):
                continue
            check = await self.hierarchy.module(path, validated)
            if not final and self._waits_for_others(check, level):
                continue
            self._modules_checked.add(path)
            result.modules.append(check)
            await self.journal.validation(check)
            for a in atoms:
                progress = self.state.atoms.get(a.id)
                if progress is not None and progress.state == AtomState.VALIDATED:
                    progress.integration_runs += 1
                    progress.integration_passes += int(check.passed)

    def _waits_for_others(self, check: ValidationResult, level: int) -> bool:
        """True when only the tests failed, and only by reaching unsettled functions."""
        failing = [c for c in check.checks if not c.passed]
        if [c.name for c in failing] != ["tests"]:
            return False
        reached = set(stub_failures(failing[0].detail))
        if not reached:
            return False
        unsettled = {
            a.qualname
            for a in self.workspace.codebase.atoms.values()
            if a.id in self.state.atoms and not self._settled_by(a.id, level)
        }
        return bool(reached & unsettled)


async def execute_levels(
    levels: Sequence[Sequence[str]],
    *,
    workspace: Workspace,
    llm: Completer,
    validator: BatchValidator,
    spec: ProjectSpec,
    state: ExecutionState | None = None,
    journal: Journal | None = None,
    budget: Budget | None = None,
    project: str | None = None,
    conventions: str = "",
    integration: ProgressiveIntegrationTester | None = None,
    hierarchy: HierarchicalValidator | None = None,
    readiness: ReadinessGate | None = None,
    performance: PerformanceGate | None = None,
    progress: ProgressCallback | None = None,
    examples: ExampleSource | None = None,
) -> ExecutionResult:
    """Generate and validate every atom of ``levels`` (see DependencyAwareGenerator)."""
    generator = DependencyAwareGenerator(
        workspace=workspace,
        llm=llm,
        validator=validator,
        spec=spec,
        state=state,
        journal=journal,
        budget=budget,
        project=project,
        conventions=conventions,
        integration=integration,
        hierarchy=hierarchy,
        readiness=readiness,
        performance=performance,
        progress=progress,
        examples=examples,
    )
    return await generator.run(levels)
