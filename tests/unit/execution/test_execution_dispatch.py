"""Dependency-ready dispatch: the pure decision of which atoms start now."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from mge.execution import AtomExecutorWithRetry, Budget, ExecutionState, MemoryJournal
from mge.execution.dispatch import levels_settled, ready_atoms, run_dependencies
from mge.execution.executor import IntegrationHook, Requeue
from mge.execution.graphrun import GraphRun
from mge.execution.integration import PROGRESS_NAME, ProgressiveIntegrationTester
from mge.llm.base import LLMRequest, LLMResponse
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import CheckResult, ValidationResult
from mge.models.project import ExecutionSpec
from mge.validation.batch import Candidate, Workspace
from mge.validation.codebase import Codebase
from mge.validation.runner import TestJob, TestOutcome

#   a   b        level 0
#   |  / \
#   c    d       level 1
#   |
#   e            level 2     (f: level 0, no dependencies, unrelated)
DEPS = {"a": [], "b": [], "c": ["a", "b"], "d": ["b"], "e": ["c"], "f": []}
ORDER = ["a", "b", "f", "c", "d", "e"]
LEVELS = [["a", "b", "f"], ["c", "d"], ["e"]]


def test_at_the_start_only_atoms_without_dependencies_start() -> None:
    assert ready_atoms(ORDER, DEPS, settled=set(), active=set()) == ["a", "b", "f"]


def test_an_atom_starts_when_its_own_dependencies_are_settled_not_its_level() -> None:
    # b is validated, a is still being generated: d (needs b) starts, c (needs a too) waits,
    # although level 0 is not finished.
    assert ready_atoms(ORDER, DEPS, settled={"b"}, active={"a", "f"}) == ["d"]


def test_a_chain_runs_ahead_of_a_slow_wide_level() -> None:
    # f (level 0) is slow; a, b, c are done: e (level 2) starts before level 0 ends.
    ready = ready_atoms(ORDER, DEPS, settled={"a", "b", "c"}, active={"f", "d"})
    assert ready == ["e"]


def test_active_and_settled_atoms_are_not_started_again() -> None:
    assert ready_atoms(ORDER, DEPS, settled={"a", "b", "f"}, active={"c"}) == ["d"]


def test_a_failed_attempt_or_a_requeued_atom_starts_again_when_not_active() -> None:
    # c was validated, then sent back by an integration check: it is unsettled and idle, so
    # it starts again; e, which needs c, waits for c's new code.
    settled = {"a", "b", "f", "d"}
    assert ready_atoms(ORDER, DEPS, settled=settled, active=set()) == ["c"]


def test_a_flagged_dependency_counts_as_settled() -> None:
    # Settled means validated or flagged for review (the caller's set holds both).
    assert ready_atoms(["x", "y"], {"y": ["x"]}, settled={"x"}, active=set()) == ["y"]


def test_dependencies_outside_the_run_do_not_hold_an_atom_back() -> None:
    deps = run_dependencies(["x", "y"], {"y": ["x", "elsewhere"]})
    assert deps == {"x": [], "y": ["x"]}
    assert ready_atoms(["y"], deps, settled={"x"}, active=set()) == ["y"]


def test_only_the_candidates_are_considered() -> None:
    # After one atom settles, only it and its dependents need a look.
    assert ready_atoms(["c", "d"], DEPS, settled={"a", "b"}, active=set()) == ["c", "d"]
    assert ready_atoms(["e"], DEPS, settled={"a", "b"}, active=set()) == []


def test_the_result_follows_the_given_order() -> None:
    assert ready_atoms(["f", "b", "a"], DEPS, settled=set(), active=set()) == ["f", "b", "a"]


def test_levels_settled_counts_leading_levels_only() -> None:
    assert levels_settled(LEVELS, set()) == 0
    assert levels_settled(LEVELS, {"a", "b"}) == 0
    assert levels_settled(LEVELS, {"a", "b", "f", "c"}) == 1
    # e is settled but level 1 is not: only the leading levels count.
    assert levels_settled(LEVELS, {"a", "b", "f", "c", "e"}) == 1
    assert levels_settled(LEVELS, set(ORDER)) == 3
    assert levels_settled([[], ["a"]], set()) == 1


# --- GraphRun: the executor following the decision --------------------------------------------


class GatedModel:
    """Correct code at once, except for ``held`` atoms, answered only once ``release`` is set."""

    def __init__(self, held: set[str]) -> None:
        self.held = held
        self.release = asyncio.Event()
        self.order: list[str] = []

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        atom = request.key.split("/")[1]
        if atom in self.held:
            await self.release.wait()
        self.order.append(request.key)
        text = f"```python\ndef {atom}(x: int) -> int:\n    return x\n```\n"
        return LLMResponse(text=text, model="m", provider="fake")


class LevelSandbox:
    """Records (level, members) per batch; fails the first attempt of ``fail_first``; sets the
    model's release once ``trigger`` is validated."""

    def __init__(
        self, model: GatedModel, trigger: str, fail_first: set[str], failing: str = "types"
    ) -> None:
        self.model = model
        self.trigger = trigger
        self.fail_first = fail_first
        self.failing = failing
        """The check a first attempt of ``fail_first`` fails (types: whatever else is there)."""
        self.batches: list[tuple[int, list[tuple[str, int]]]] = []

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        self.batches.append((level, sorted((c.atom_id, c.attempt) for c in candidates)))
        out = {}
        for c in candidates:
            ok = not (c.attempt == 1 and c.atom_id in self.fail_first)
            check = CheckResult(name=self.failing, passed=ok, detail="" if ok else "1 != 2")
            out[c.atom_id] = ValidationResult(
                level="L1", subject=c.atom_id, passed=ok, checks=[check]
            )
            if ok and c.atom_id == self.trigger:
                self.model.release.set()
        return out


def _graph_codebase(deps: Mapping[str, Sequence[str]]) -> Codebase:
    lines = ['"""m."""', ""]
    atoms = {}
    for a, needs in deps.items():
        sig = f"def {a}(x: int) -> int:"
        lines += ["", sig, "    ...", ""]
        atoms[a] = AtomicUnit(
            id=a,
            file="m.py",
            language="python",
            kind="function",
            qualname=a,
            signature=sig,
            spec=f"{a}.",
            estimated_loc=2,
            complexity=1,
            dependencies=list(needs),
        )
    return Codebase({"m.py": "\n".join(lines) + "\n"}, atoms)


async def test_a_chain_is_validated_before_a_slow_atom_of_its_first_level_answers() -> None:
    # slow and a are level 0; b needs a (level 1); c needs b (level 2). slow's answer is held
    # until c is validated: level by level this could never finish.
    deps = {"slow": [], "a": [], "b": ["a"], "c": ["b"]}
    levels = [["slow", "a"], ["b"], ["c"]]
    model = GatedModel(held={"slow"})
    sandbox = LevelSandbox(model, trigger="c", fail_first={"b"})
    journal = MemoryJournal()
    codebase = _graph_codebase(deps)
    executor = AtomExecutorWithRetry(
        llm=model,
        validator=sandbox,
        workspace=Workspace(codebase),
        state=ExecutionState.fresh(codebase.atoms),
        journal=journal,
        budget=Budget(max_cost_usd=100.0, max_atoms=100),
        spec=ExecutionSpec(batch_size=20),
        batch_linger_s=0.05,
    )
    ends: list[tuple[str, int, list[str]]] = []

    def settled() -> list[str]:
        return sorted(a for a, p in executor.state.atoms.items() if p.settled)

    async def flush(k: int) -> list[Requeue]:
        ends.append(("flush", k, settled()))
        return []

    async def close(k: int) -> None:
        ends.append(("close", k, settled()))

    run = GraphRun(executor, levels, deps, flush=flush, close=close)
    stop = await asyncio.wait_for(run.run(), timeout=60)

    assert stop is None
    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    # c (level 2) was generated before slow (level 0) answered; b's retry went on meanwhile.
    assert model.order.index("atom/c/attempt-1") < model.order.index("atom/slow/attempt-1")
    assert "atom/b/attempt-2" in model.order
    # Every batch holds atoms of its own level, and is recorded under that level.
    level_of = {a: k for k, level in enumerate(levels) for a in level}
    assert all(level_of[a] == k for k, members in sandbox.batches for a, _ in members)
    for k in range(len(levels)):
        recorded = sorted(map(sorted, journal.batches.get(k, [])))
        assert recorded == sorted(members for j, members in sandbox.batches if j == k)
    # End-of-level work ran in level order, level 0's only once slow was settled.
    assert [(step, k) for step, k, _ in ends] == [
        ("flush", 0),
        ("close", 0),
        ("flush", 1),
        ("close", 1),
        ("flush", 2),
        ("close", 2),
    ]
    assert "slow" in ends[0][2]


async def test_a_run_killed_before_its_first_checkpoint_resumes_with_the_atoms_uncovered() -> None:
    # No progress document yet: the validated atoms still await their checkpoint, so the
    # resumed run's end-of-level checkpoint covers them (before, they were silently dropped).
    codebase = _graph_codebase({"a": [], "b": ["a"]})
    workspace = Workspace(codebase, validated={"a": "return x", "b": "return x"})
    journal = MemoryJournal()

    class NoRuns:
        async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
            raise AssertionError("no module tests: nothing to run")

    tester = ProgressiveIntegrationTester(workspace, NoRuns(), journal=journal)
    await tester.resume([["a"], ["b"]])
    assert await tester.flush(0) == []
    assert (await journal.progress(PROGRESS_NAME) or {}).get("covered") == ["a"]
    assert await tester.flush(1) == []
    assert (await journal.progress(PROGRESS_NAME) or {}).get("covered") == ["a", "b"]


class SendsBackOnce:
    """An integration hook whose first checkpoint that sees ``trigger`` sends ``culprit`` back."""

    def __init__(self, trigger: str, culprit: str) -> None:
        self.trigger = trigger
        self.culprit = culprit
        self.sent = False

    async def observe(self, level: int, validated: Sequence[str]) -> list[Requeue]:
        if self.trigger in validated and not self.sent:
            self.sent = True
            return [Requeue(self.culprit, "a module test failed")]
        return []


def _hooked_executor(
    deps: Mapping[str, Sequence[str]],
    model: GatedModel,
    sandbox: LevelSandbox | HiddenUse,
    hook: IntegrationHook | None = None,
    *,
    journal: MemoryJournal | None = None,
    max_atoms: int = 100,
    max_attempts: int = 3,
) -> AtomExecutorWithRetry:
    """An executor over ``deps``' codebase whose integration hook is ``hook``."""
    codebase = _graph_codebase(deps)
    return AtomExecutorWithRetry(
        llm=model,
        validator=sandbox,
        workspace=Workspace(codebase),
        state=ExecutionState.fresh(codebase.atoms),
        journal=journal or MemoryJournal(),
        budget=Budget(max_cost_usd=100.0, max_atoms=max_atoms),
        spec=ExecutionSpec(batch_size=20, max_attempts=max_attempts),
        batch_linger_s=0.05,
        integration=hook,
    )


async def test_an_atom_a_progressive_checkpoint_sends_back_is_generated_again() -> None:
    # a is validated first (its own batch); when b is validated, the checkpoint blames a.
    deps: dict[str, list[str]] = {"a": [], "b": [], "c": ["a"]}
    model = GatedModel(held={"b"})
    hook = SendsBackOnce(trigger="b", culprit="a")
    executor = _hooked_executor(
        deps, model, LevelSandbox(model, trigger="a", fail_first=set()), hook
    )
    run = GraphRun(executor, [["a", "b"], ["c"]], deps)
    assert await asyncio.wait_for(run.run(), timeout=60) is None
    assert hook.sent
    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    assert [a.number for a in executor.state.atoms["a"].attempts] == [1, 2]
    assert "atom/a/attempt-2" in model.order


class HeldCheckpoint:
    """An integration hook whose checkpoint for ``atom`` runs until ``release`` is set."""

    def __init__(self, atom: str) -> None:
        self.atom = atom
        self.release = asyncio.Event()
        self.seen: list[tuple[int, list[str]]] = []

    async def observe(self, level: int, validated: Sequence[str]) -> list[Requeue]:
        self.seen.append((level, list(validated)))
        if self.atom in validated:
            await self.release.wait()
        return []


class ReleasingModel(GatedModel):
    """Correct code at once; asking for ``atom`` sets ``release``."""

    def __init__(self, atom: str, release: asyncio.Event) -> None:
        super().__init__(held=set())
        self.atom = atom
        self.gate = release

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        if request.key.split("/")[1] == self.atom:
            self.gate.set()
        return await super().complete(request, project)


async def test_a_progressive_checkpoint_holds_no_dependent_up() -> None:
    # The checkpoint that sees a runs until b (which needs a) is asked for: were the dependents
    # started only after the checkpoint, b would never be asked for and the run would hang.
    deps: dict[str, list[str]] = {"a": [], "b": ["a"]}
    hook = HeldCheckpoint("a")
    model = ReleasingModel("b", hook.release)
    executor = _hooked_executor(
        deps, model, LevelSandbox(model, trigger="", fail_first=set()), hook
    )
    ends: list[tuple[str, int]] = []

    async def flush(k: int) -> list[Requeue]:
        ends.append(("flush", k))
        return []

    async def close(k: int) -> None:
        ends.append(("close", k))

    run = GraphRun(executor, [["a"], ["b"]], deps, flush=flush, close=close)
    assert await asyncio.wait_for(run.run(), timeout=30) is None
    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    assert hook.seen == [(0, ["a"]), (1, ["b"])]
    # level 0's end waited for its checkpoint (which ended only once b was asked for)
    assert ends == [("flush", 0), ("close", 0), ("flush", 1), ("close", 1)]


class HiddenUse:
    """b's tests reach ``slow`` (level 0) through a call the graph does not show: they pass
    only against a view holding slow's code. Releases slow's answer once b was checked."""

    def __init__(self, model: GatedModel) -> None:
        self.model = model
        self.checks: list[tuple[str, int, bool]] = []

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        out = {}
        for c in candidates:
            sees_slow = "slow" in (visible or {})
            self.checks.append((c.atom_id, c.attempt, sees_slow))
            ok = c.atom_id != "b" or sees_slow
            checks = [
                CheckResult(name="types", passed=True),
                CheckResult(name="tests", passed=ok, detail="" if ok else "slow: not written"),
            ]
            out[c.atom_id] = ValidationResult(
                level="L1", subject=c.atom_id, passed=ok, checks=checks
            )
            if c.atom_id == "b":
                self.model.release.set()
        return out


async def test_a_last_attempt_failed_against_unsettled_lower_levels_is_checked_again() -> None:
    # b (level 1) needs only a; slow (level 0) is still being generated when b is checked, and
    # b's tests reach slow. b's attempt is its last (max_attempts 1): the failure is held, b is
    # checked again (same attempt, same code) once level 0 is settled, and passes there, as it
    # would have level by level, instead of being given up.
    deps: dict[str, list[str]] = {"slow": [], "a": [], "b": ["a"]}
    model = GatedModel(held={"slow"})
    sandbox = HiddenUse(model)
    journal = MemoryJournal()
    executor = _hooked_executor(deps, model, sandbox, journal=journal, max_attempts=1)
    run = GraphRun(executor, [["slow", "a"], ["b"]], deps)
    assert await asyncio.wait_for(run.run(), timeout=60) is None

    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    assert [a.number for a in executor.state.atoms["b"].attempts] == [1]
    assert "atom/b/attempt-2" not in model.order
    assert [c for c in sandbox.checks if c[0] == "b"] == [("b", 1, False), ("b", 1, True)]
    # the recheck is recorded with its own view, apart from the level's batches
    recheck = await journal.batch_view(1, [("b", 1)], recheck=True)
    assert recheck is not None and recheck.sees("slow")
    assert journal.batches[1] == [[("b", 1)]]


async def test_an_earlier_attempt_failed_against_unsettled_lower_levels_is_retried() -> None:
    # The same timing with attempts left: b's first attempt counts as failed at once and b is
    # generated again (a wrong attempt on a chain does not wait for the levels below); the
    # retry sees slow's code once it is there, or is held as the last attempt if not.
    deps: dict[str, list[str]] = {"slow": [], "a": [], "b": ["a"]}
    model = GatedModel(held={"slow"})
    sandbox = HiddenUse(model)
    executor = _hooked_executor(deps, model, sandbox, max_attempts=3)
    run = GraphRun(executor, [["slow", "a"], ["b"]], deps)
    assert await asyncio.wait_for(run.run(), timeout=60) is None

    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    b = executor.state.atoms["b"]
    assert b.attempts[0].validation is not None and not b.attempts[0].validation.passed
    assert "atom/b/attempt-2" in model.order
    checks = [c for c in sandbox.checks if c[0] == "b"]
    assert checks[0] == ("b", 1, False)
    assert [n for _, n, _ in checks].count(1) == 1  # attempt 1 is not checked again


async def test_a_failure_once_the_lower_levels_are_settled_is_retried_at_once() -> None:
    # b is answered only once level 0 is settled (and closed): its failed tests are its own
    # (no recheck), and it is generated again at once.
    deps: dict[str, list[str]] = {"slow": [], "a": [], "b": ["a"]}
    model = GatedModel(held={"b"})

    async def close(level: int) -> None:
        if level == 0:
            model.release.set()

    sandbox = LevelSandbox(model, trigger="b", fail_first={"b"}, failing="tests")
    executor = _hooked_executor(deps, model, sandbox)
    run = GraphRun(executor, [["slow", "a"], ["b"]], deps, close=close)
    assert await asyncio.wait_for(run.run(), timeout=60) is None
    assert [a.number for a in executor.state.atoms["b"].attempts] == [1, 2]
    assert [m for k, m in sandbox.batches if k == 1] == [[("b", 1)], [("b", 2)]]


async def test_a_budget_stop_stores_a_held_attempt_as_it_failed() -> None:
    # b's tests fail while slow is unsettled, in its last attempt, so b is held; slow's
    # dependent `late` is then refused by the budget (3 atoms). Nothing new starts, not even b's
    # recheck: b's attempt is stored as it failed, and the run ends with the budget stop.
    deps: dict[str, list[str]] = {"slow": [], "a": [], "b": ["a"], "late": ["slow"]}
    model = GatedModel(held={"slow"})
    sandbox = HiddenUse(model)
    journal = MemoryJournal()
    executor = _hooked_executor(deps, model, sandbox, journal=journal, max_atoms=3, max_attempts=1)
    run = GraphRun(executor, [["slow", "a"], ["b", "late"]], deps)
    stop = await asyncio.wait_for(run.run(), timeout=60)

    assert stop is not None
    b = executor.state.atoms["b"]
    assert [(a.number, a.validation is not None and a.validation.passed) for a in b.attempts] == [
        (1, False)
    ]
    assert [c for c in sandbox.checks if c[0] == "b"] == [("b", 1, False)]
    assert "atom/late/attempt-1" not in model.order
    assert [a.atom_id for a in journal.attempts].count("b") == 1
