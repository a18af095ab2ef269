"""AtomExecutorWithRetry: generate a level's atoms, validate them in batches, retry failures.

A level is streamed. Every open atom's generation starts at once (LLM calls run concurrently,
at most ``concurrency`` in flight); generated code is validated in batches through the injected
:class:`~mge.validation.batch.BatchValidator` (at most ``parallelism`` batches at once), each
batch formed as soon as it is full or nothing more is being generated — the decision is the
pure :func:`~mge.execution.batching.next_batches`, and every batch is recorded in the journal
before it runs so that a resumed run forms it again (the operator then finds its Job). Each
attempt is written to the journal with its prompt hash, code, validation result, tokens, cost
and duration. An atom that passes is validated; one that fails is generated again as soon as
its own batch's result is in, with the error analysis fed back, until ``max_attempts`` is spent
— then it is flagged for review and the level carries on. The level ends when every atom is
settled; the next level starts only then (its atoms see validated dependencies only).

What stops a run: the budget (clean stop, status ``budget_exceeded``, everything already paid
for is validated and stored first), and LLM errors retrying cannot fix (bad credentials, a
missing recording, a provider down after all its retries): the atom that met one gets no
further attempt, the level's other atoms finish, are validated and stored, then it propagates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mge.errors import BudgetExceeded, LLMAuthError, LLMError, LLMUnavailable, RecordingMissing
from mge.execution.batching import Member, next_batches
from mge.execution.budget import Budget
from mge.execution.prompting import (
    AtomContext,
    Example,
    ExampleSource,
    build_request,
    dependency_blocks,
    example_blocks,
    fit_examples,
    prompt_hash,
)
from mge.execution.retry import AttemptPlan, plan_attempt
from mge.execution.state import ExecutionState, Journal
from mge.execution.views import BatchView
from mge.llm.base import LLMRequest, LLMResponse
from mge.llm.structured import extract_code
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import Attempt, Usage, ValidationResult
from mge.models.project import ExecutionSpec
from mge.validation.batch import BatchValidator, Candidate, Workspace

BATCH_LINGER_SECONDS = 1.0
"""Longest a generated attempt waits for the attempts started with it before it is validated
in a smaller batch (a third of a typical model answer; about a sandbox start-up)."""

FATAL_LLM_ERRORS: tuple[type[LLMError], ...] = (LLMAuthError, RecordingMissing, LLMUnavailable)
"""LLM errors that stop the run instead of costing the atom an attempt."""


class Completer(Protocol):
    """The LLM client as execution uses it (mge.llm.client.LLMClient fits)."""

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        """The model's answer."""
        ...


@dataclass(frozen=True)
class Requeue:
    """An atom sent back after it had passed, with the reason fed to its next attempt."""

    atom_id: str
    feedback: str


class IntegrationHook(Protocol):
    """Called after each validated batch; may send atoms back (the integration tester)."""

    async def observe(self, level: int, validated: Sequence[str]) -> list[Requeue]:
        """Note newly validated atoms; return the atoms to regenerate, if any."""
        ...


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays, sent after every settled batch."""

    level: int
    levels: int
    settled: int
    total: int
    validated: int
    failed: int
    retries: int
    cost_usd: float


ProgressCallback = Callable[[Progress], None]


@dataclass
class Generated:
    """One generation: its plan, request, extracted code, response (or error) and time."""

    plan: AttemptPlan
    request: LLMRequest
    code: str
    response: LLMResponse | None
    error: str
    duration_s: float


@dataclass
class LevelOutcome:
    """What one level's execution did."""

    level: int
    validated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempts: int = 0
    retries: int = 0
    batches: int = 0
    cache_hits: int = 0
    llm_calls: int = 0
    budget_stop: BudgetExceeded | None = None


class AtomExecutorWithRetry:
    """Runs the attempt loop for the atoms of one level at a time (see module docstring)."""

    def __init__(
        self,
        *,
        llm: Completer,
        validator: BatchValidator,
        workspace: Workspace,
        state: ExecutionState,
        journal: Journal,
        budget: Budget,
        spec: ExecutionSpec | None = None,
        base_temperature: float = 0.7,
        project: str | None = None,
        conventions: str = "",
        integration: IntegrationHook | None = None,
        progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        levels_total: int = 1,
        batch_linger_s: float = BATCH_LINGER_SECONDS,
        examples: ExampleSource | None = None,
    ) -> None:
        self.llm = llm
        self.examples = examples
        self.validator = validator
        self.workspace = workspace
        self.state = state
        self.journal = journal
        self.budget = budget
        self.spec = spec or ExecutionSpec()
        self.base_temperature = base_temperature
        self.project = project
        self.conventions = conventions
        self.integration = integration
        self.progress = progress
        self.clock = clock
        self.levels_total = levels_total
        self.shown_level: Callable[[int], int] | None = None
        """The level progress shows for work settled at a level (None: that level); set by
        dependency-ready dispatch, where levels overlap, to the first level not yet done."""
        self.batch_linger_s = batch_linger_s
        self._slots = asyncio.Semaphore(self.spec.concurrency)
        self._batch_slots = asyncio.Semaphore(self.spec.parallelism)
        self._batch_counter: dict[int, int] = {}

    # --- one level ------------------------------------------------------------------------

    async def run_level(self, level: int, atom_ids: Sequence[str]) -> LevelOutcome:
        """Generate, validate and retry ``atom_ids`` until each is validated or flagged."""
        outcome = LevelOutcome(level)
        open_ids = [a for a in atom_ids if not self.state.atoms[a].settled]
        if open_ids:
            planned = await self.journal.planned_batches(level)
            await _LevelRun(self, level, outcome, planned).run(open_ids)
        return outcome

    async def _validate_batch(
        self, level: int, batch: list[Generated], *, recheck: bool = False, early: bool = False
    ) -> tuple[list[tuple[Generated, ValidationResult | None, float]], BatchView]:
        """The batch's results and the view it was checked against (``recheck``: a recheck of
        attempts whose tests failed before the levels below were settled; ``early``: the batch
        forms before they are settled — see mge.execution.graphrun)."""
        index = self._batch_counter.get(level, 0)
        self._batch_counter[level] = index + 1
        members = [(g.plan.atom_id, g.plan.number) for g in batch]
        # A batch recorded by an earlier process is checked against what it was checked against
        # then (same content, same Job); a new one is recorded with its view (mge.execution.views).
        view = await self.journal.batch_view(level, members, recheck=recheck)
        if view is not None:
            visible = view.pick(self.workspace.validated)
        else:
            visible = self.workspace.visible(level)
            scope = self.workspace.codebase.atoms
            view = BatchView.of(visible, scope, recheck=recheck, early=early)
            await self.journal.batch(level, members, view)
        candidates = [Candidate(g.plan.atom_id, g.plan.number, g.code) for g in batch]
        async with self._batch_slots:
            start = self.clock()
            results = await self.validator.validate(level, index, candidates, visible)
            took = self.clock() - start
        return [(g, results.get(g.plan.atom_id), took) for g in batch], view

    async def _settle(
        self,
        level: int,
        items: list[tuple[Generated, ValidationResult | None, float]],
        outcome: LevelOutcome,
    ) -> list[str]:
        """Store the attempts, then show the newly validated atoms to the integration hook;
        returns the atoms to generate again (failed attempts, and atoms the hook sent back)."""
        again, newly_valid = await self._record(items, outcome)
        again += await self._observe(level, newly_valid, outcome)
        self._report(level)
        return again

    async def _record(
        self, items: list[tuple[Generated, ValidationResult | None, float]], outcome: LevelOutcome
    ) -> tuple[list[str], list[str]]:
        """Store the attempts; returns (atoms to generate again, atoms newly validated)."""
        again: list[str] = []
        newly_valid: list[str] = []
        for g, result, took in items:
            attempt = self.attempt_record(g, result, took)
            atom_id = g.plan.atom_id
            progress = self.state.atoms[atom_id]
            progress.attempts.append(attempt)
            progress.feedback = None
            outcome.attempts += 1
            if result is not None and result.passed:
                self._accept(atom_id, g.code)
                outcome.validated.append(atom_id)
                newly_valid.append(atom_id)
            elif len(progress.attempts) >= self.spec.max_attempts:
                self._flag(atom_id)
                outcome.failed.append(atom_id)
            else:
                progress.state = AtomState.PENDING
                again.append(atom_id)
            await self.journal.attempt(attempt, progress.state, progress.code)
        return again, newly_valid

    async def _observe(
        self, level: int, validated: Sequence[str], outcome: LevelOutcome
    ) -> list[str]:
        """Show newly validated atoms to the integration hook; the atoms it sent back that get
        another attempt."""
        again: list[str] = []
        if self.integration is not None and validated:
            for requeue in await self.integration.observe(level, validated):
                if await self.requeue(requeue, outcome):
                    again.append(requeue.atom_id)
        return again

    def _accept(self, atom_id: str, code: str) -> None:
        progress = self.state.atoms[atom_id]
        progress.state = AtomState.VALIDATED
        progress.code = code
        self.workspace.validated[atom_id] = code

    def _flag(self, atom_id: str) -> None:
        progress = self.state.atoms[atom_id]
        progress.state = AtomState.FAILED
        progress.code = None
        self.workspace.validated.pop(atom_id, None)

    async def requeue(self, requeue: Requeue, outcome: LevelOutcome) -> bool:
        """Send a validated atom back; True when it gets another attempt, False when flagged."""
        progress = self.state.atoms.get(requeue.atom_id)
        if progress is None or progress.state != AtomState.VALIDATED:
            return False
        if requeue.atom_id in outcome.validated:
            outcome.validated.remove(requeue.atom_id)
        if len(progress.attempts) >= self.spec.max_attempts:
            self._flag(requeue.atom_id)
            await self.journal.settle(requeue.atom_id, AtomState.FAILED, None)
            outcome.failed.append(requeue.atom_id)
            return False
        progress.state = AtomState.PENDING
        progress.feedback = requeue.feedback
        self.workspace.validated.pop(requeue.atom_id, None)
        await self.journal.settle(requeue.atom_id, AtomState.PENDING, None)
        return True

    def attempt_record(self, g: Generated, result: ValidationResult | None, took: float) -> Attempt:
        """The Attempt for a generation and its validation result."""
        response = g.response
        return Attempt(
            atom_id=g.plan.atom_id,
            number=g.plan.number,
            temperature=g.plan.temperature,
            prompt_hash=prompt_hash(g.request),
            code=g.code,
            validation=result,
            usage=response.usage if response else Usage(),
            cost_usd=response.cost_usd if response else 0.0,
            duration_s=round(g.duration_s + took, 4),
            error=g.error,
        )

    def _report(self, level: int) -> None:
        if self.progress is None:
            return
        atoms = self.state.atoms.values()
        self.progress(
            Progress(
                level=level if self.shown_level is None else self.shown_level(level),
                levels=self.levels_total,
                settled=sum(1 for p in atoms if p.settled),
                total=len(self.state.atoms),
                validated=self.state.count(AtomState.VALIDATED, AtomState.APPROVED),
                failed=self.state.count(AtomState.FAILED, AtomState.IN_REVIEW),
                retries=sum(max(0, len(p.attempts) - 1) for p in atoms),
                cost_usd=round(self.budget.spent_usd, 6),
            )
        )

    # --- one attempt ----------------------------------------------------------------------

    async def context_for(self, atom: AtomicUnit) -> AtomContext:
        """The prompt context: skeleton file, validated dependency code and learned examples
        similar to the atom (when the driver gave an example source), within the budget."""
        codebase = self.workspace.codebase
        shown: list[Example] = []
        if self.examples is not None:
            shown = fit_examples(await self.examples(atom))
        return AtomContext(
            atom=atom,
            skeleton=codebase.files.get(atom.file, ""),
            dependencies=dependency_blocks(atom, codebase, self.workspace.validated),
            patterns=example_blocks(shown),
            conventions=self.conventions,
        )

    async def _generate(self, atom_id: str) -> Generated:
        progress = self.state.atoms[atom_id]
        plan = plan_attempt(atom_id, progress.attempts, self.base_temperature, progress.feedback)
        return await self.generate(plan)

    async def generate(self, plan: AttemptPlan) -> Generated:
        """One LLM call for ``plan`` (budget checked first); the code extracted from it.

        Raises BudgetExceeded before calling, and the fatal LLM errors; any other LLM error
        becomes a failed attempt with no code.
        """
        self.budget.check(plan.atom_id)
        atom = self.workspace.codebase.atoms[plan.atom_id]
        request = build_request(await self.context_for(atom), plan)
        start = self.clock()
        async with self._slots:
            try:
                response = await self.llm.complete(request, self.project)
            except FATAL_LLM_ERRORS:
                raise
            except LLMError as e:
                return Generated(plan, request, "", None, f"{type(e).__name__}: {e}", 0.0)
        took = self.clock() - start
        self.budget.charge(response.cost_usd)
        code = extract_code(response.text, atom.language).strip("\n")
        error = "" if code.strip() else "the answer held no code"
        return Generated(plan, request, code, response, error, took)


class _LevelRun:
    """One level, streamed: generations, batches and retries overlap (see mge.execution.batching).

    Every open atom's generation starts at once. Generated code waits in ``ready`` until
    :func:`~mge.execution.batching.next_batches` puts it in a batch; a failed attempt is
    generated again as soon as its own batch's result is stored. A budget stop starts no new
    generation, and a fatal LLM error retires the atom that met it; what is in flight still
    finishes, is validated and stored, then the fatal error propagates.
    """

    def __init__(
        self,
        executor: AtomExecutorWithRetry,
        level: int,
        outcome: LevelOutcome,
        planned: Sequence[Sequence[Member]],
    ) -> None:
        self.ex = executor
        self.level = level
        self.outcome = outcome
        self.planned = planned
        self.ready: list[Generated] = []
        self.ready_at: dict[Member, float] = {}
        self.generating: dict[str, int] = {}
        self.wave_of: dict[str, int] = {}
        self.wave = 0
        self.validating = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.fatal: BaseException | None = None

    async def run(self, atom_ids: Sequence[str]) -> None:
        self._launch_wave(atom_ids)
        try:
            while True:
                self._dispatch()
                if not self.tasks:
                    break
                done, _ = await asyncio.wait(
                    self.tasks, timeout=self._linger_left(), return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    self.tasks.discard(task)
                    task.result()
        except BaseException:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            raise
        if self.fatal is not None:
            raise self.fatal

    def _launch_wave(self, atom_ids: Sequence[str]) -> None:
        """Start the next attempt of each of ``atom_ids``, together as one wave."""
        self.wave += 1
        for atom_id in atom_ids:
            if self.outcome.budget_stop is not None:
                return
            self.generating[atom_id] = len(self.ex.state.atoms[atom_id].attempts) + 1
            self.wave_of[atom_id] = self.wave
            self.tasks.add(asyncio.create_task(self._generate(atom_id)))

    def _linger_left(self) -> float | None:
        """Seconds until the next ready attempt becomes due by the linger (None: none will)."""
        now = self.ex.clock()
        due = [t + self.ex.batch_linger_s - now for t in self.ready_at.values()]
        return min((d for d in due if d > 0), default=None)

    def _dispatch(self) -> None:
        spec = self.ex.spec
        now = self.ex.clock()
        batches = next_batches(
            [(g.plan.atom_id, g.plan.number) for g in self.ready],
            self.generating,
            self.planned,
            spec.batch_size,
            spec.parallelism - self.validating,
            self.wave_of,
            {m: now - t for m, t in self.ready_at.items()},
            self.ex.batch_linger_s,
        )
        for members in batches:
            chosen = set(members)
            by_member = {(g.plan.atom_id, g.plan.number): g for g in self.ready}
            batch = [by_member[m] for m in members]
            self.ready = [g for g in self.ready if (g.plan.atom_id, g.plan.number) not in chosen]
            for m in members:
                self.ready_at.pop(m, None)
            self.validating += 1
            self.tasks.add(asyncio.create_task(self._validate(batch)))

    async def _generate(self, atom_id: str) -> None:
        try:
            g = await self.ex._generate(atom_id)
        except BudgetExceeded as e:
            self.outcome.budget_stop = self.outcome.budget_stop or e
            return
        except FATAL_LLM_ERRORS as e:
            self.fatal = self.fatal or e
            return
        finally:
            self.generating.pop(atom_id, None)
        if g.plan.number > 1:
            self.outcome.retries += 1
        if g.response is not None:
            self.outcome.llm_calls += 1
            self.outcome.cache_hits += int(g.response.from_cache)
        if g.code.strip():
            self.ready.append(g)
            self.ready_at[(g.plan.atom_id, g.plan.number)] = self.ex.clock()
        else:
            await self._settle([(g, None, 0.0)])

    async def _validate(self, batch: list[Generated]) -> None:
        try:
            results, _view = await self.ex._validate_batch(self.level, batch)
        finally:
            self.validating -= 1
        self.outcome.batches += 1
        await self._settle(results)

    async def _settle(self, items: list[tuple[Generated, ValidationResult | None, float]]) -> None:
        again = await self.ex._settle(self.level, items, self.outcome)
        self._launch_wave(list(dict.fromkeys(again)))
