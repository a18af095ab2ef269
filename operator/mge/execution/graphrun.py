"""The whole graph at once: dependency-ready dispatch with level-labelled batches and checks.

Execution used to go level by level: a level's atoms started together and the next level waited
for the slowest of them and for the level's integration checkpoint. :class:`GraphRun` runs every
level at once instead, within the same limits (``concurrency`` LLM calls, ``parallelism``
sandbox batches):

- **Dispatch.** An atom's generation starts as soon as every atom it depends on is settled
  (:func:`~mge.execution.dispatch.ready_atoms`); it sees its dependencies' validated code, as
  before. A failed attempt, and an atom sent back by a check, start again the same way.
- **Batches keep their level.** Generated code waits per level; each level's batches are formed
  by :func:`~mge.execution.batching.next_batches` with that level's recorded batches, so a batch
  holds atoms of one level, is recorded in that level's document and named after it (the
  operator's Job name is the level, the attempt and the batch's content), and a resumed run forms
  it again. Free sandbox slots go first to the level, and a batch first takes the attempts, that
  head the longest chains of dependents (:func:`~mge.execution.batching.slot_order`).
- **No atom is given up for code not written yet.** A batch may form before the levels below
  it are settled, and a test may reach lower-level code the graph does not show (a call through
  an interface): against a stub it would fail, and fail again at every retry until that code
  exists. An atom's *last* attempt whose tests alone failed before the levels below were
  settled is held, still active, and checked again — same attempt, same code — once they are,
  in a batch recorded as a recheck (:mod:`mge.execution.views`); only that verdict counts. An
  earlier attempt's failure counts at once and is retried (its retry may see the code by
  then): holding every such failure made each wrong attempt on a chain wait for the wide levels
  below, most of what this dispatch gains (`benchmarks/results/i21_chains.md`). A pass counts
  at once. Not held: a failure against a dependency that its level's checkpoint sends back
  *later* (level by level the dependent would have started after that checkpoint); waiting for
  the checkpoints before counting any failure cost 30 % of the makespan at 800 atoms
  (`benchmarks/results/i21_chains.md`), so such an attempt is retried, and the retry sees the
  dependency's new code.
- **Checks run beside, in level order.** The end-of-level work of level ``k`` — the integration
  checkpoint (``flush``), then, once the atoms it sent back are settled again, the module checks
  (``close``) — runs when level ``k`` is settled and level ``k - 1``'s is done, while later
  levels' atoms go on. The progressive checkpoints of level ``k`` (every few validated atoms)
  wait until level ``k - 1``'s end-of-level work is done, so each sees the same lower levels as
  it did level by level; what they send back is generated again, as before, without holding
  anything else up.

What stops a run is unchanged: at a budget stop no generation and no check starts, what is in
flight finishes and is stored (a held attempt as it failed); a fatal LLM error retires the atom
that met it, the atoms already started finish (their retries too), then it propagates.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from mge.errors import BudgetExceeded, MGEError
from mge.execution.batching import Member, next_batches, slot_order
from mge.execution.dispatch import levels_settled, ready_atoms, run_dependencies
from mge.execution.executor import (
    FATAL_LLM_ERRORS,
    AtomExecutorWithRetry,
    Generated,
    IntegrationHook,
    LevelOutcome,
    Requeue,
)
from mge.execution.state import AtomProgress
from mge.execution.views import held_for_recheck
from mge.models.execution import ValidationResult

Flush = Callable[[int], Awaitable[list[Requeue]]]
"""The end-of-level integration checkpoint of a level; returns the atoms to send back."""
Close = Callable[[int], Awaitable[None]]
"""The rest of a level's end (module checks), once the atoms the flush sent back are settled."""


class _Gate:
    """The integration hook as the executor sees it during a GraphRun: observations of a level
    whose lower levels are not closed yet are held back until they are (see module docstring);
    every call to the real hook is serialised."""

    def __init__(self, run: GraphRun, inner: IntegrationHook) -> None:
        self.run = run
        self.inner = inner

    async def observe(self, level: int, validated: Sequence[str]) -> list[Requeue]:
        if level > self.run.closed:
            self.run.deferred.setdefault(level, []).extend(validated)
            return []
        async with self.run.lock:
            return await self.inner.observe(level, validated)


class _Settled(Collection[str]):
    """The settled atoms of a run, read from the execution state when asked (no copy)."""

    def __init__(self, atoms: Mapping[str, AtomProgress], order: Sequence[str]) -> None:
        self.atoms = atoms
        self.order = order

    def __contains__(self, atom: object) -> bool:
        progress = self.atoms.get(atom) if isinstance(atom, str) else None
        return progress is not None and progress.settled

    def __iter__(self) -> Iterator[str]:
        return (a for a in self.order if a in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class GraphRun:
    """Executes ``levels`` with dependency-ready dispatch (see module docstring)."""

    def __init__(
        self,
        executor: AtomExecutorWithRetry,
        levels: Sequence[Sequence[str]],
        dependencies: Mapping[str, Sequence[str]],
        *,
        flush: Flush | None = None,
        close: Close | None = None,
    ) -> None:
        self.ex = executor
        self.levels = [list(level) for level in levels]
        self.order = [a for level in self.levels for a in level]
        self.level_of = {a: k for k, level in enumerate(self.levels) for a in level}
        self.position = {a: i for i, a in enumerate(self.order)}
        self.dependencies = run_dependencies(self.order, dependencies)
        self.dependents: dict[str, list[str]] = {}
        for atom in self.order:
            for dep in self.dependencies[atom]:
                self.dependents.setdefault(dep, []).append(atom)
        self.tail: dict[str, int] = {}
        """Atoms on the longest chain of dependents from each atom, itself included."""
        for atom in reversed(self.order):
            below = [self.tail[d] for d in self.dependents.get(atom, ()) if d in self.tail]
            self.tail[atom] = 1 + max(below, default=0)
        self.waiting: set[str] = set()
        """Atoms whose dependencies are settled, waiting for one of the ``concurrency`` slots."""
        self.flush = flush
        self.close = close
        self.outcomes = [LevelOutcome(k) for k in range(len(self.levels))]
        self.planned: list[list[list[Member]]] = []
        self.ready: dict[int, list[Generated]] = {}
        self.ready_at: dict[Member, float] = {}
        self.generating: dict[str, int] = {}
        self.active: set[str] = set()
        self.retired: set[str] = set()
        self.wave_of: dict[str, int] = {}
        self.wave = 0
        self.validating = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.fatal: BaseException | None = None
        self.budget_stop: BudgetExceeded | None = None
        self.closed = 0
        """Levels whose end-of-level work is done (the first ``closed`` levels)."""
        self.flushed = -1
        """The highest level whose integration checkpoint ran."""
        self.stage: asyncio.Task[None] | None = None
        self.deferred: dict[int, list[str]] = {}
        self.observing: Counter[int] = Counter()
        """Per level, the integration observations of its validated atoms still running."""
        self.lock = asyncio.Lock()
        self.rechecks: dict[int, list[tuple[Generated, ValidationResult | None, float]]] = {}
        """Per level, attempts whose tests failed before the levels below were settled, held
        (still active) until they are, then checked again (see module docstring)."""

    async def run(self) -> BudgetExceeded | None:
        """Run to the end (or the budget stop, returned); raises a fatal LLM error at the end."""
        for k in range(len(self.levels)):
            self.planned.append([list(b) for b in await self.ex.journal.planned_batches(k)])
        inner = self.ex.integration
        if inner is not None:
            self.ex.integration = _Gate(self, inner)
        # levels overlap, so progress shows the first level not yet done (it never jumps back)
        self.ex.shown_level = lambda _level: min(self.closed, len(self.levels) - 1)
        try:
            self._launch(self.order)
            while True:
                self._advance()
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
        finally:
            self.ex.integration = inner
            self.ex.shown_level = None
        if self.fatal is not None:
            raise self.fatal
        if self.budget_stop is None and self.closed < len(self.levels):
            stuck = [a for a in self.order if not self.ex.state.atoms[a].settled]
            raise MGEError(
                f"execution stopped with nothing in flight before level {self.closed} was done "
                f"(unsettled: {', '.join(stuck[:20]) or 'none'}); this is a scheduling bug in "
                "mge.execution.graphrun — please report it; running again resumes the work"
            )
        return self.budget_stop

    # --- dispatch -------------------------------------------------------------------------

    def _launch(self, candidates: Iterable[str]) -> None:
        """Queue those of ``candidates`` whose dependencies are settled (the candidates: every
        atom at the start, then the atoms whose state just changed and the atoms that depend
        on them), then start what the free generation slots allow."""
        self.waiting.update(set(candidates) & self.position.keys())
        self._start_waiting()

    def _start_waiting(self) -> None:
        """Start ready atoms for the free ``concurrency`` slots, the longest chain of
        dependents first (the critical path gets the slots when wide levels overlap), as one
        wave."""
        if self.budget_stop is not None:
            return
        atoms = self.ex.state.atoms
        settled = _Settled(atoms, self.order)
        order = sorted(self.waiting, key=lambda a: (-self.tail[a], self.position[a]))
        ready = [
            a
            for a in ready_atoms(order, self.dependencies, settled, self.active)
            if a not in self.retired and (self.fatal is None or atoms[a].attempts)
        ]
        self.waiting = set(ready)  # the rest is started, settled or waits for a dependency
        start = ready[: max(0, self.ex.spec.concurrency - len(self.generating))]
        self.waiting.difference_update(start)
        if not start:
            return
        self.wave += 1
        for atom_id in start:
            self.active.add(atom_id)
            self.generating[atom_id] = len(atoms[atom_id].attempts) + 1
            self.wave_of[atom_id] = self.wave
            self.tasks.add(asyncio.create_task(self._generate(atom_id)))

    def _linger_left(self) -> float | None:
        now = self.ex.clock()
        due = [t + self.ex.batch_linger_s - now for t in self.ready_at.values()]
        return min((d for d in due if d > 0), default=None)

    def _dispatch(self) -> None:
        below = levels_settled(self.levels, _Settled(self.ex.state.atoms, self.order))
        self._dispatch_rechecks(below)
        spec = self.ex.spec
        now = self.ex.clock()
        heads = {k: max(self.tail[g.plan.atom_id] for g in r) for k, r in self.ready.items() if r}
        for k in slot_order(heads):
            free = spec.parallelism - self.validating
            if free <= 0:
                break
            # the heads of the longest chains first into a batch (stable: then as they came)
            ready = sorted(self.ready[k], key=lambda g: -self.tail[g.plan.atom_id])
            generating = {a: n for a, n in self.generating.items() if self.level_of[a] == k}
            batches = next_batches(
                [(g.plan.atom_id, g.plan.number) for g in ready],
                generating,
                self.planned[k],
                spec.batch_size,
                free,
                self.wave_of,
                {m: now - t for m, t in self.ready_at.items()},
                self.ex.batch_linger_s,
            )
            for members in batches:
                chosen = set(members)
                by_member = {(g.plan.atom_id, g.plan.number): g for g in self.ready[k]}
                batch = [by_member[m] for m in members]
                self.ready[k] = [
                    g for g in self.ready[k] if (g.plan.atom_id, g.plan.number) not in chosen
                ]
                for m in members:
                    self.ready_at.pop(m, None)
                self.validating += 1
                # formed before the levels below are settled: a failure of its tests is held
                early = below < k
                self.tasks.add(asyncio.create_task(self._validate(k, batch, early=early)))

    async def _generate(self, atom_id: str) -> None:
        level = self.level_of[atom_id]
        outcome = self.outcomes[level]
        try:
            g = await self.ex._generate(atom_id)
        except BudgetExceeded as e:
            self.budget_stop = self.budget_stop or e
            outcome.budget_stop = outcome.budget_stop or e
            self.active.discard(atom_id)
            return
        except FATAL_LLM_ERRORS as e:
            self.fatal = self.fatal or e
            self.retired.add(atom_id)
            self.active.discard(atom_id)
            return
        finally:
            self.generating.pop(atom_id, None)
            self._start_waiting()
        if g.plan.number > 1:
            outcome.retries += 1
        if g.response is not None:
            outcome.llm_calls += 1
            outcome.cache_hits += int(g.response.from_cache)
        if g.code.strip():
            self.ready.setdefault(level, []).append(g)
            self.ready_at[(g.plan.atom_id, g.plan.number)] = self.ex.clock()
        else:
            await self._settle(level, [(g, None, 0.0)])

    async def _validate(
        self, level: int, batch: list[Generated], *, recheck: bool = False, early: bool = False
    ) -> None:
        try:
            results, view = await self.ex._validate_batch(
                level, batch, recheck=recheck, early=early
            )
        finally:
            self.validating -= 1
        self.outcomes[level].batches += 1
        if view.early:
            # A last attempt's tests failed before the levels below were settled (code they
            # reach may not be written yet): check again once they are, before giving the atom
            # up. The view records `early`, so a resumed run that re-forms the batch decides
            # the same.
            last = self.ex.spec.max_attempts
            counted = []
            for item in results:
                if held_for_recheck(item[1], item[0].plan.number, last):
                    self.rechecks.setdefault(level, []).append(item)
                else:
                    counted.append(item)
            results = counted
        await self._settle(level, results)

    def _dispatch_rechecks(self, below: int) -> None:
        """Check held attempts again once the levels below theirs are settled (``below``: how
        many leading levels are); at a budget stop or a fatal error, store them as they failed
        (nothing new starts then)."""
        stopping = self.budget_stop is not None or self.fatal is not None
        for k in sorted(self.rechecks):
            held = self.rechecks[k]
            if stopping:
                self.tasks.add(asyncio.create_task(self._settle(k, held)))
                held = []
            while held and below >= k and self.validating < self.ex.spec.parallelism:
                batch, held = held[: self.ex.spec.batch_size], held[self.ex.spec.batch_size :]
                self.validating += 1
                recheck = self._validate(k, [g for g, _, _ in batch], recheck=True)
                self.tasks.add(asyncio.create_task(recheck))
            self.rechecks[k] = held
        self.rechecks = {k: held for k, held in self.rechecks.items() if held}

    async def _settle(
        self, level: int, items: list[tuple[Generated, ValidationResult | None, float]]
    ) -> None:
        # One atom at a time, the heads of the longest chains of dependents first, starting its
        # dependents as soon as it is stored: a chain atom in a batch of 20 does not wait for
        # the other 19 attempts' store writes. The integration hook sees each validated atom
        # beside what follows (a checkpoint it runs holds no dependent up); the atoms it sends
        # back start again when it returns.
        outcome = self.outcomes[level]
        for item in sorted(items, key=lambda i: -self.tail[i[0].plan.atom_id]):
            atom_id = item[0].plan.atom_id
            try:
                again, validated = await self.ex._record([item], outcome)
            finally:
                self.active.discard(atom_id)
            self.ex._report(level)
            self._launch([atom_id, *self.dependents.get(atom_id, ()), *again])
            if validated and self.ex.integration is not None:
                self.observing[level] += 1
                self.tasks.add(asyncio.create_task(self._observe(level, validated)))

    async def _observe(self, level: int, validated: list[str]) -> None:
        try:
            again = await self.ex._observe(level, validated, self.outcomes[level])
        finally:
            self.observing[level] -= 1
        if again:
            self.ex._report(level)
            self._launch(again)

    # --- end-of-level work, in level order, beside the atoms ------------------------------

    def _idle(self, level: int) -> bool:
        atoms = self.ex.state.atoms
        return not self.observing[level] and all(
            atoms[a].settled and a not in self.active for a in self.levels[level]
        )

    def _advance(self) -> None:
        """Start the next end-of-level step when its level is settled (one step at a time)."""
        if self.stage is not None and not self.stage.done():
            return
        if self.budget_stop is not None or self.fatal is not None:
            return
        k = self.closed
        if k >= len(self.levels):
            return
        if self.deferred.get(k):
            self._start(self._observe_deferred(k))
        elif self._idle(k):
            self._start(self._flush(k) if self.flushed < k else self._close(k))

    def _start(self, step: Awaitable[None]) -> None:
        async def run() -> None:
            await step

        self.stage = asyncio.create_task(run())
        self.tasks.add(self.stage)

    async def _apply(self, requeues: Sequence[Requeue]) -> None:
        for r in requeues:
            level = self.level_of.get(r.atom_id)
            if level is not None:
                await self.ex.requeue(r, self.outcomes[level])
        self._launch(r.atom_id for r in requeues)

    async def _observe_deferred(self, level: int) -> None:
        validated = self.deferred.pop(level, [])
        gate = self.ex.integration
        if gate is not None and validated:
            await self._apply(await gate.observe(level, validated))

    async def _flush(self, level: int) -> None:
        self.flushed = level
        if self.flush is not None:
            async with self.lock:
                requeues = await self.flush(level)
            await self._apply(requeues)

    async def _close(self, level: int) -> None:
        if self.close is not None:
            await self.close(level)
        self.closed = level + 1
