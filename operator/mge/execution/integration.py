"""ProgressiveIntegrationTester: module tests every ~10 validated atoms, bisect to the culprit.

Unit tests check an atom against the code it was generated with; module tests check atoms
together. Every ``every`` newly validated atoms the tester runs the *ready* tests (every atom
they cover has validated code) of the modules those atoms touched, in the sandbox.

When a test fails:

- a **regression** (the test passed at an earlier checkpoint) is bisected: the recent atoms are
  split in halves and the failing tests re-run with the earlier code plus one half, narrowing
  down to the culprit(s) in about ``c·log2(n)`` runs (adaptive group testing; it assumes a
  culprit breaks the test whatever else is present, which holds for independent bugs);
- a **new** test (ready for the first time) cannot be bisected — without the recent atoms it
  cannot run at all — so the recent atoms it covers are the suspects.

Culprits are sent back to the executor with the failure as feedback (a new attempt), or
flagged for review when they have no attempts left.

A restarted run makes the same checkpoints as an uninterrupted one: which atoms each checkpoint
covered is kept in the journal (:data:`PROGRESS_NAME`), :meth:`resume` puts the validated atoms
no checkpoint covered back in the queue, and a checkpoint at the end of level ``k`` only sees
atoms of levels up to ``k`` (a replayed level does not check code of later levels, which an
uninterrupted run had not written yet at that point).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mge.execution.executor import Requeue
from mge.execution.state import ExecutionState, Journal
from mge.models.execution import CheckResult, ValidationResult
from mge.validation.batch import Workspace
from mge.validation.codebase import python_module_name, stub_failures
from mge.validation.diagnosis import truncate
from mge.validation.runner import TestJob, TestOutcome, TestRunner

PROGRESS_NAME = "integration"
"""The journal's progress document of the checkpoints (see the module docstring)."""
INTEGRATION_EVERY = 10
"""Validated atoms between two integration checkpoints."""

MAX_BISECT_RUNS = 32
"""Sandbox runs one bisection may use; past it, the undecided atoms are all suspects."""

T = TypeVar("T")


async def find_culprits(
    items: Sequence[T],
    fails: Callable[[Sequence[T]], Awaitable[bool]],
    *,
    known_failing: bool = True,
    max_runs: int = MAX_BISECT_RUNS,
) -> list[T]:
    """The items that make ``fails`` true, by recursive halving (adaptive group testing).

    ``fails(subset)`` runs the check with ``subset`` added to a known-good baseline. With
    ``known_failing`` the whole of ``items`` is known to fail (no run spent on it). When the
    left half passes, the right half must fail and is not re-run. After ``max_runs`` runs the
    items still undecided are returned as suspects (never silently dropped).
    """
    runs = 0

    async def probe(subset: Sequence[T]) -> bool:
        nonlocal runs
        runs += 1
        return await fails(subset)

    async def search(subset: Sequence[T], failing: bool) -> list[T]:
        if not subset:
            return []
        if not failing:
            if runs >= max_runs:
                return list(subset)
            if not await probe(subset):
                return []
        if len(subset) == 1:
            return list(subset)
        if runs >= max_runs:
            return list(subset)
        mid = len(subset) // 2
        left, right = subset[:mid], subset[mid:]
        left_fails = await probe(left)
        found = await search(left, True) if left_fails else []
        return found + await search(right, not left_fails)

    return await search(list(items), known_failing)


@dataclass(frozen=True)
class Checkpoint:
    """One integration run: which tests, which failed, who was blamed."""

    number: int
    level: int
    tests: tuple[str, ...]
    failed: tuple[str, ...]
    culprits: tuple[str, ...]
    runs: int


class ProgressiveIntegrationTester:
    """Implements the executor's IntegrationHook (see module docstring)."""

    def __init__(
        self,
        workspace: Workspace,
        runner: TestRunner,
        *,
        state: ExecutionState | None = None,
        journal: Journal | None = None,
        every: int = INTEGRATION_EVERY,
        max_bisect_runs: int = MAX_BISECT_RUNS,
    ) -> None:
        self.workspace = workspace
        self.runner = runner
        self.state = state
        self.journal = journal
        self.every = every
        self.max_bisect_runs = max_bisect_runs
        self.checkpoints: list[Checkpoint] = []
        self.results: list[ValidationResult] = []
        self._recent: list[str] = []
        self._passing: set[str] = set()
        self._snapshot: dict[str, str] = {}
        self._runs = 0
        self._covered: set[str] = set()
        """Atoms a checkpoint has covered (in this or an earlier process)."""
        self._earlier = 0
        """Checkpoints made by earlier processes of this run."""
        self._level_of: dict[str, int] = {}

    async def resume(self, levels: Sequence[Sequence[str]]) -> None:
        """Pick up where an earlier process of this run stopped (a no-op on a fresh run)."""
        self._level_of = {a: k for k, level in enumerate(levels) for a in level}
        doc = await self.journal.progress(PROGRESS_NAME) if self.journal is not None else None
        # No document yet (killed before its first checkpoint was saved): nothing is covered,
        # but the atoms validated so far still await their checkpoint.
        doc = doc or {}
        self._covered = {str(a) for a in doc.get("covered") or []}
        self._passing = {str(t) for t in doc.get("passing") or []}
        self._earlier = int(doc.get("checkpoints") or 0)
        validated = self.workspace.validated
        self._snapshot = {a: validated[a] for a in self._covered if a in validated}
        order = [a for level in levels for a in level]
        self._recent = [a for a in order if a in validated and a not in self._covered]

    def _up_to(self, level: int, atoms: Iterable[str]) -> list[str]:
        """The atoms of levels up to ``level`` (every atom when the levels are unknown)."""
        return [a for a in atoms if self._level_of.get(a, level) <= level]

    async def observe(self, level: int, validated: Sequence[str]) -> list[Requeue]:
        """Note newly validated atoms; run a checkpoint once ``every`` have accumulated."""
        self._recent += [a for a in validated if a not in self._recent]
        if len(self._recent) < self.every:
            return []
        return await self.checkpoint(level)

    async def checkpoint(self, level: int) -> list[Requeue]:
        """Run the ready module tests of the recently touched modules now."""
        codebase = self.workspace.codebase
        validated = {
            a: self.workspace.validated[a] for a in self._up_to(level, self.workspace.validated)
        }
        recent = [a for a in self._recent if a in validated]
        # Atoms of later levels wait for their own level (only a resumed run has them here).
        self._recent = [a for a in self._recent if self._level_of.get(a, level) > level]
        if not recent:
            return []
        self._covered |= set(recent)
        ready = set(codebase.ready_tests(validated))
        modules = sorted({codebase.module_of(a) for a in recent})
        tests = [t for t in dict.fromkeys(t for m in modules for t in codebase.module_tests(m))]
        tests = [t for t in tests if t in ready]
        if not tests:
            await self._save_progress()
            return []
        outcome = await self._run(tests, validated, modules)
        failed = [t for t in tests if t in set(outcome.failed_tests)] or (
            [] if outcome.passed else list(tests)
        )
        # A test that reaches a function nobody wrote yet is not ready, whatever its coverage
        # said: it neither blames anyone nor counts as passed.
        waiting = [t for t in failed if stub_failures(outcome.details.get(t, ""))]
        tests = [t for t in tests if t not in waiting]
        failed = [t for t in failed if t not in waiting]
        self._count(tests, failed)
        requeues = await self._blame(tests, failed, outcome, recent, validated, modules)
        # A test that passed once stays a regression test; the snapshot keeps the last code
        # of each atom not blamed now (a blamed atom keeps its earlier, good code).
        self._passing |= set(tests) - set(failed)
        blamed = {r.atom_id for r in requeues}
        self._covered -= blamed  # sent back: their next code is checked again
        self._snapshot.update({a: c for a, c in validated.items() if a not in blamed})
        number = self._earlier + len(self.checkpoints) + 1
        result = ValidationResult(
            level="L2",
            subject=f"integration/{number}",
            passed=not failed,
            checks=[
                CheckResult(
                    name="integration",
                    passed=not failed,
                    detail=truncate(
                        f"{len(tests) - len(failed)}/{len(tests)} module tests passed"
                        + ("\n" + _failure_text(outcome, failed) if failed else "")
                    ),
                )
            ],
        )
        self.results.append(result)
        if self.journal is not None:
            await self.journal.validation(result)
        self.checkpoints.append(
            Checkpoint(
                number,
                level,
                tuple(tests),
                tuple(failed),
                tuple(r.atom_id for r in requeues),
                self._runs,
            )
        )
        await self._save_progress()
        return requeues

    async def _save_progress(self) -> None:
        if self.journal is None:
            return
        doc = {
            "covered": sorted(self._covered),
            "passing": sorted(self._passing),
            "checkpoints": self._earlier + len(self.checkpoints),
        }
        await self.journal.save_progress(PROGRESS_NAME, doc)

    async def flush(self, level: int) -> list[Requeue]:
        """Run a checkpoint for whatever accumulated (at the end of a level)."""
        return await self.checkpoint(level) if self._up_to(level, self._recent) else []

    async def _blame(
        self,
        tests: list[str],
        failed: list[str],
        outcome: TestOutcome,
        recent: list[str],
        validated: Mapping[str, str],
        modules: list[str],
    ) -> list[Requeue]:
        if not failed:
            return []
        codebase = self.workspace.codebase
        blamed: dict[str, str] = {}
        regressions = [t for t in failed if t in self._passing]
        if regressions:
            # The earlier code of the recent atoms: what the regression tests passed with.
            earlier = {a: self._snapshot[a] for a in recent if a in self._snapshot}
            baseline = {**{a: c for a, c in validated.items() if a not in recent}, **earlier}

            async def fails(subset: Sequence[str]) -> bool:
                codes = {**baseline, **{a: validated[a] for a in subset}}
                probe = await self._run(regressions, codes, modules)
                return not probe.passed

            for culprit in await find_culprits(recent, fails, max_runs=self.max_bisect_runs):
                blamed[culprit] = _failure_text(outcome, regressions)
        for test in failed:
            if test in regressions:
                continue
            covered = codebase.atoms_by_test.get(test, set())
            if any(self._depends_on(a, c) for a in covered for c in blamed):
                continue  # explained by a culprit the bisection found upstream
            for atom_id in sorted(covered & set(recent)):
                blamed.setdefault(atom_id, _failure_text(outcome, [test]))
        return [
            Requeue(
                a,
                "A module test that combines this function with others failed after it "
                f"was added:\n{text}",
            )
            for a, text in blamed.items()
        ]

    def _depends_on(self, atom_id: str, other: str) -> bool:
        """True when ``atom_id`` is ``other`` or depends on it, directly or not."""
        atoms = self.workspace.codebase.atoms
        seen: set[str] = set()
        stack = [atom_id]
        while stack:
            current = stack.pop()
            if current == other:
                return True
            if current in seen or current not in atoms:
                continue
            seen.add(current)
            stack.extend(atoms[current].dependencies)
        return False

    async def _run(
        self, tests: Sequence[str], codes: Mapping[str, str], modules: Sequence[str]
    ) -> TestOutcome:
        codebase = self.workspace.codebase
        self._runs += 1
        imports = tuple(m for m in (python_module_name(p) for p in modules) if m)
        job = TestJob(
            id=f"integration-{self._runs}",
            files=codebase.render(codes, stub_missing=True),
            tests=tuple(tests),
            imports=imports,
            language=codebase.language(modules[0]) if modules else "python",
        )
        outcomes = await self.runner.run([job])
        return outcomes.get(job.id) or TestOutcome(job.id, passed=False, error="no result")

    def _count(self, tests: list[str], failed: list[str]) -> None:
        if self.state is None:
            return
        covering = self.workspace.codebase.atoms_by_test
        for test in tests:
            for atom_id in covering.get(test, set()):
                progress = self.state.atoms.get(atom_id)
                if progress is not None:
                    progress.integration_runs += 1
                    progress.integration_passes += int(test not in failed)


def _failure_text(outcome: TestOutcome, tests: Sequence[str]) -> str:
    parts = [f"FAILED {t}\n{outcome.details.get(t, '')}".rstrip() for t in tests]
    if not any(outcome.details.get(t) for t in tests):
        parts.append(outcome.error or outcome.output)
    return truncate("\n".join(p for p in parts if p))
